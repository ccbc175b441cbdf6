"""Rare cells are minimal: a rare combination is not repeated with every extra condition."""

from __future__ import annotations

import polars as pl

from pipeline.stress.edge_cases import rare_cells


def _real() -> pl.DataFrame:
    n = 200
    return pl.DataFrame(
        {
            "cancer_stage_group": ["I" if i < 6 else "III" for i in range(n)],
            "genomic_variant_kras": [i % 2 == 0 for i in range(n)],
            "genomic_variant_braf": [i % 3 == 0 for i in range(n)],
        }
    )


def test_a_rare_cell_is_not_repeated_with_extra_conditions() -> None:
    dims = [
        ("cancer_stage_group", "genomic_variant_kras"),
        ("cancer_stage_group", "genomic_variant_braf"),
        ("cancer_stage_group", "genomic_variant_kras", "genomic_variant_braf"),
    ]
    cells = rare_cells(_real(), dims, k=10)
    assert cells.height > 0
    assert all(c["cancer_stage_group"] == "I" for c in cells["conditions"])
    assert all(len(c) == 2 for c in cells["conditions"])  # every stage-I pair is rare, so no triple is minimal
    assert cells["n_real"].to_list() == sorted(cells["n_real"].to_list())


def test_max_cells_keeps_the_rarest() -> None:
    dims = [("cancer_stage_group", "genomic_variant_kras"), ("cancer_stage_group", "genomic_variant_braf")]
    every = rare_cells(_real(), dims, k=10)
    kept = rare_cells(_real(), dims, k=10, max_cells=2)
    assert kept.height == 2 and kept["n_real"].max() <= every["n_real"].sort()[2]
