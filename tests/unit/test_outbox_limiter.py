"""The outbox's rate limiter on a simulated clock: the global pace, the
per-chat pace with bursts, the 429 pause, and replies that do not wait."""
from __future__ import annotations

from bot.outbox import MAX_DEBT, RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def limiter(rate: float = 10.0, chat_rate: float = 1.0, burst: int = 3) -> tuple[RateLimiter, FakeTime]:
    ft = FakeTime()
    return RateLimiter(rate, chat_rate, burst, clock=ft.clock, sleep=ft.sleep), ft


async def times_of(lim: RateLimiter, ft: FakeTime, chats: list[int], **kw: bool) -> list[float]:
    out = []
    for chat in chats:
        await lim.acquire(chat, **kw)
        out.append(round(ft.now - 1000.0, 6))
    return out


async def test_sends_to_many_chats_are_spaced_by_the_global_rate() -> None:
    lim, ft = limiter(rate=10)
    got = await times_of(lim, ft, list(range(50)))
    assert got == [round(i * 0.1, 6) for i in range(50)]  # 10/s, no burst


async def test_one_chat_gets_a_burst_then_its_own_pace() -> None:
    lim, ft = limiter(rate=1000, chat_rate=1.0, burst=3)
    got = await times_of(lim, ft, [7] * 6)
    assert got[:3] == [0.0, 0.001, 0.002]  # a burst of three
    assert got[3:] == [1.0, 2.0, 3.0]  # then one per second


async def test_a_429_pauses_everything() -> None:
    lim, ft = limiter(rate=1000)
    await lim.acquire(1)
    lim.pause(5)
    assert lim.paused_for() == 5
    await lim.acquire(2)
    assert ft.now - 1000.0 >= 5
    assert lim.paused_for() == 0


async def test_replies_do_not_wait_but_delay_the_queue_a_little() -> None:
    lim, ft = limiter(rate=10, chat_rate=1.0, burst=3)
    for _ in range(100):  # a flood of replies to one chat: none waits
        await lim.acquire(5, immediate=True)
    assert ft.now == 1000.0
    # the queue is pushed back by at most MAX_DEBT, and that chat is not in debt beyond one interval
    await lim.acquire(6)
    assert ft.now - 1000.0 <= MAX_DEBT + 1e-9
    start = ft.now
    await lim.acquire(5)
    assert ft.now - start <= 1.0 + 1e-9


async def test_idle_chats_are_forgotten() -> None:
    lim, ft = limiter(rate=1000)
    for chat in range(100):
        await lim.acquire(chat)
    ft.now += 10
    lim.forget_idle_chats()
    assert not lim._chat_tat

