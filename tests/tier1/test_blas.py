from threadpoolctl import threadpool_info

from tier1.blas import limit_blas_threads


def _blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_limits_blas_to_one_thread_when_the_operator_set_nothing():
    limiter = limit_blas_threads({})
    try:
        assert limiter is not None
        assert _blas_threads() == {1}
    finally:
        limiter.restore_original_limits()


def test_leaves_the_operators_thread_count_alone():
    before = _blas_threads()
    assert limit_blas_threads({"OPENBLAS_NUM_THREADS": "2"}) is None
    assert limit_blas_threads({"OMP_NUM_THREADS": "4"}) is None
    assert _blas_threads() == before
