"""Every bound the serving RPCs put on what crosses the wire, each once.

The services check requests against these, the codecs check payloads against them,
and the proto comments of the fields they bound name them and their values
(tests/wire/test_limits.py keeps the two from drifting apart). A limit raised here
is raised for every service at once; check the relations noted below first.
"""

from __future__ import annotations

#: The longest user id (in characters) any serving RPC accepts: Recommend,
#: GetCandidates, GetFeatures, Rank and each RecordInteractions interaction
#: (recmesh/wire/ids.check_user_id). Ids are catalogue keys, not free text; the bound
#: keeps a caller's mistake (a whole document as an id) out of logs and spans.
MAX_USER_ID_LENGTH = 128

#: The most items one Recommend or Rank call may ask for (its k). The front's k and
#: ranking's k are the same bound: the front passes its k on to ranking.
MAX_K = 1000

#: The most entries of a RecommendRequest's free-form context map, and the most
#: characters its keys and values may hold together: the context is recorded with the
#: impression, so it is kept to a few short labels (surface, locale, ...).
MAX_CONTEXT_ENTRIES = 32
MAX_CONTEXT_CHARACTERS = 4096

#: How many candidates a request generates when it does not say: GetCandidates with
#: max_candidates 0, the candidate pipeline's default n, and what the front asks the
#: candidates service for (its --max-candidates default). Ranking scores this many per
#: request, so it sets the size of the feature matrix (DEFAULT_CANDIDATES x features).
DEFAULT_CANDIDATES = 500

#: The most candidates one GetCandidates call may ask for (its max_candidates); more is
#: INVALID_ARGUMENT. At least DEFAULT_CANDIDATES and at most MAX_CANDIDATES_ON_WIRE, so
#: whatever the candidates service may send, features and ranking decode
#: (tests/wire/test_limits.py checks the order).
MAX_CANDIDATES_PER_REQUEST = 5000

#: The decoder's hard cap on a CandidateSet (recmesh/wire/candidate_codec.py), whoever
#: sent it: GetFeatures and Rank refuse a larger one as INVALID_ARGUMENT before decoding
#: its arrays, the front treats one as a malformed reply. Twice
#: MAX_CANDIDATES_PER_REQUEST: it bounds the memory one payload can make a server
#: allocate, not a request size a caller should plan with.
MAX_CANDIDATES_ON_WIRE = 10_000

#: The largest gRPC message any server or channel of ours sends or accepts, either way:
#: a 500 x 45 float32 feature matrix is 90 KB, a snapshot upload is chunked, so the
#: bound only stops a runaway message before it is buffered whole.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

#: The most interactions one RecordInteractions call may carry: a batch is checked and
#: written whole (one fsync) before the answer, so the bound keeps one call's memory and
#: write short.
MAX_INTERACTIONS_PER_CALL = 10_000
