import gc
import weakref

from proxy import startup


def test_settling_the_heap_takes_what_start_up_left_out_of_full_collections():
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    gc.collect()
    alive = len(gc.get_objects())
    garbage = weakref.ref(Cycle())  # only a collection frees it
    assert garbage() is not None
    try:
        frozen = startup.settle_heap()
        # What start-up left alive (other threads of the suite may free a few meanwhile).
        assert gc.get_freeze_count() >= alive * 0.9 and frozen >= alive * 0.9
        assert garbage() is None  # collected, not frozen
        # A full pass now walks only what was made since, not the frozen heap.
        assert len(gc.get_objects()) < frozen / 10
    finally:
        gc.unfreeze()  # the rest of the suite runs with the collector as usual
