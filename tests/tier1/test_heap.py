import gc
import weakref

from tier1.heap import freeze_startup_heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_freezes_what_is_alive_and_leaves_later_objects_to_the_collector():
    gc.unfreeze()
    try:
        alive = [_Cycle() for _ in range(100)]
        assert freeze_startup_heap() >= len(alive)
        frozen = weakref.ref(alive[0])
        later = _Cycle()  # created after start-up: still in the collected generations
        collected = weakref.ref(later)
        del alive, later  # both cycles are unreachable now

        gc.collect()
        assert collected() is None  # the new cycle is found and freed
        assert frozen() is not None  # the frozen one is not walked
    finally:
        gc.unfreeze()
        gc.collect()


def test_start_up_garbage_is_collected_not_frozen():
    gc.unfreeze()
    try:
        garbage = [_Cycle() for _ in range(10)]
        refs = [weakref.ref(g) for g in garbage]
        del garbage  # unreachable now, but each keeps itself alive through its cycle
        assert all(r() is not None for r in refs)
        freeze_startup_heap()
        assert all(r() is None for r in refs)  # freed before the freeze
    finally:
        gc.unfreeze()
