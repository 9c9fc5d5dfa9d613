"""Opening the configured store: where videos package first, and how that relates to the store."""

from __future__ import annotations

from pathlib import Path

from origin.store import Staging, open_store
from origin.store.fs import FileStore
from streaming.config import StorageSettings


def test_a_file_store_packages_in_its_own_directory(tmp_path: Path) -> None:
    """Local disk: the work directory is the store's, so nothing is copied or removed on ready."""
    storage = open_store(StorageSettings(), tmp_path)
    assert storage.staging is Staging.IN_PLACE and storage.uploads is None
    assert isinstance(storage.store, FileStore) and storage.store.root == tmp_path / "hls"
    assert storage.work.work_dir("v1") == tmp_path / "hls" / "v1"


def test_object_storage_packages_in_a_local_copy(tmp_path: Path) -> None:
    """S3: videos package on local disk, are copied to the bucket, and offer direct uploads."""
    storage = open_store(
        StorageSettings(backend="s3", bucket="videos", endpoint_url="http://127.0.0.1:1"), tmp_path
    )
    assert storage.staging is Staging.COPY and storage.uploads is storage.store
    assert storage.work.work_dir("v1") == tmp_path / "work" / "v1"
