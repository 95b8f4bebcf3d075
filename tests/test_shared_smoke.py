from tests.shared import load_shared, shared_dataset_names


def test_shared_loader_renames_columns():
    names = shared_dataset_names()
    if not names:
        import pytest
        pytest.skip("no shared datasets")
    labels, gold = load_shared(names[0])
    assert {"item_id", "annotator_id", "label"} <= set(labels.columns)
    assert gold is not None and {"item_id", "label"} <= set(gold.columns)
