"""The breaker of one replica as pure logic, on an injected clock."""

from __future__ import annotations

from services.common.breaker import Breaker, BreakerPolicy, BreakerState

POLICY = BreakerPolicy(failures_to_open=3, first_cooldown_s=0.5, max_cooldown_s=2.0, backoff=2.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker() -> tuple[Breaker, FakeClock, list[tuple[BreakerState, BreakerState]]]:
    clock = FakeClock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = Breaker(POLICY, clock, lambda old, new: changes.append((old, new)))
    return breaker, clock, changes


def assert_state(breaker: Breaker, state: BreakerState) -> None:
    assert breaker.state is state


def _open(breaker: Breaker) -> None:
    for _ in range(POLICY.failures_to_open):
        assert breaker.admit()
        breaker.failed()


def test_opens_after_consecutive_failures_and_admits_nothing() -> None:
    """Three consecutive failures open the breaker; then no call is admitted."""
    breaker, _, changes = _breaker()
    _open(breaker)
    assert_state(breaker, BreakerState.OPEN)
    assert changes == [(BreakerState.CLOSED, BreakerState.OPEN)]
    assert not breaker.admit()


def test_a_success_resets_the_count_of_failures() -> None:
    """Failures must be consecutive: a success in between keeps the breaker closed."""
    breaker, _, _ = _breaker()
    for _ in range(5):
        breaker.failed()
        breaker.failed()
        breaker.succeeded()
    assert_state(breaker, BreakerState.CLOSED)
    assert breaker.admit()


def test_probe_is_due_only_after_the_cooldown_and_once() -> None:
    """An open breaker asks for a probe when its cooldown is over, not before, and not
    again while that probe runs."""
    breaker, clock, _ = _breaker()
    _open(breaker)
    clock.now += 0.49
    assert not breaker.probe_due()
    clock.now += 0.02
    assert breaker.probe_due()
    breaker.probe_started()
    assert not breaker.probe_due()


def test_passed_probe_admits_one_trial_and_its_success_closes() -> None:
    """After a passed probe exactly one trial call is admitted; its success closes the
    breaker and every call is admitted again."""
    breaker, clock, changes = _breaker()
    _open(breaker)
    clock.now += 0.5
    breaker.probe_started()
    breaker.probe_passed()
    assert_state(breaker, BreakerState.HALF_OPEN)
    assert breaker.admit()
    assert not breaker.admit()
    breaker.succeeded()
    assert_state(breaker, BreakerState.CLOSED)
    assert breaker.admit()
    assert breaker.admit()
    assert changes == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_failed_probes_and_trials_back_off_exponentially_up_to_the_cap() -> None:
    """Each failed probe or trial reopens the breaker with twice the cooldown, never more
    than the cap; closing brings the first cooldown back."""
    breaker, clock, _ = _breaker()
    _open(breaker)
    waits = []
    for _ in range(4):
        waits.append(breaker.cooldown_s)
        clock.now += breaker.cooldown_s
        assert breaker.probe_due()
        breaker.probe_started()
        breaker.probe_failed()
        assert_state(breaker, BreakerState.OPEN)
    assert waits == [0.5, 1.0, 2.0, 2.0]
    clock.now += 2.0
    breaker.probe_started()
    breaker.probe_passed()
    assert breaker.admit()
    breaker.failed()  # the trial fails: open again, cooldown still capped
    assert_state(breaker, BreakerState.OPEN)
    assert breaker.cooldown_s == 2.0
    clock.now += 1.9
    assert not breaker.probe_due()
    clock.now += 0.1
    breaker.probe_started()
    breaker.probe_passed()
    assert breaker.admit()
    breaker.succeeded()
    assert breaker.cooldown_s == 0.5


def test_a_cancelled_trial_lets_another_trial_through() -> None:
    """A trial call released without a verdict (its caller went away) does not leave the
    breaker half-open forever: the next call becomes the trial."""
    breaker, clock, _ = _breaker()
    _open(breaker)
    clock.now += 0.5
    breaker.probe_started()
    breaker.probe_passed()
    assert breaker.admit()
    breaker.released()
    assert breaker.admit()


def test_late_answers_of_calls_admitted_before_opening_change_nothing() -> None:
    """Calls admitted while closed that end after the breaker opened neither close it nor
    push its probe back."""
    breaker, clock, _ = _breaker()
    _open(breaker)
    breaker.succeeded()
    breaker.failed()
    assert_state(breaker, BreakerState.OPEN)
    clock.now += 0.5
    assert breaker.probe_due()
