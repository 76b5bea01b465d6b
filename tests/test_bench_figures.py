"""The benchmarks' one percentile helper and paired ratios: nearest rank, the ratio of a round
to the same round, never of two separate medians."""

import pytest

from bench.figures import median_ratio, paired_ratios, percentile


def test_nearest_rank_percentiles_of_unsorted_samples():
    samples = [float(x) for x in range(100, 0, -1)]  # 100 .. 1
    assert percentile(samples, 50) == 51
    assert percentile(samples, 99) == 99
    assert percentile(samples, 100) == 100 and percentile(samples, 0) == 1
    assert percentile([7.0], 99) == 7


def test_a_percentile_of_nothing_or_out_of_range_is_refused():
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_the_ratio_is_the_median_of_per_round_ratios_not_of_medians():
    # a noisy round hits both sides: paired, the ratio stays 2; unpaired medians say 2.5
    service = [200.0, 100.0, 500.0]
    raw = [100.0, 50.0, 200.0]
    assert paired_ratios(service, raw) == [2.0, 2.0, 2.5]
    assert median_ratio(service, raw) == 2.0


def test_rounds_must_pair():
    with pytest.raises(ValueError, match="same number of rounds"):
        median_ratio([1.0, 2.0], [1.0])


def test_a_shape_whose_requests_failed_is_refused_not_timed():
    from bench.directory_search import ShapeFailed, _checked
    from bench.load import Figures

    good = Figures("two words", 100, 2.0, 1.0, 2.0, 3.0, 1.5, errors=0)
    assert _checked(good) is good
    with pytest.raises(ShapeFailed, match="3 failed requests"):
        _checked(Figures("two words", 100, 2.0, 1.0, 2.0, 3.0, 1.5, errors=3))


def test_directory_sizes_read_as_generated_services():
    from bench.directory_search import sizes

    assert sizes("20k,120k") == {"20k": 20_000, "120k": 120_000}
    assert sizes("1k, 500") == {"1k": 1000, "500": 500}
