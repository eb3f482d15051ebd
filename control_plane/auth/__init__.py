"""Who is calling and what they may do: principals, tokens, certificates, the role table."""
