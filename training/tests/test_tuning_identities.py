"""face0.tuning_identities on the test shards: folders of 3-4 photos of one person each, drawn by seed."""

import json
import tarfile

from face0.tuning_identities import write_tuning_identities


def identity_of(shards, key: str) -> int:
    for shard in shards:
        with tarfile.open(shard) as tar:
            if f"{key}.json" in tar.getnames():
                return json.load(tar.extractfile(f"{key}.json"))["celeba_identity"]
    raise KeyError(key)


def test_writes_folders_of_one_person_each(raw_shards, tmp_path):
    found = write_tuning_identities(raw_shards, tmp_path / "a", people=2, seed=1)
    folders = sorted((tmp_path / "a").iterdir())
    assert found >= 2 and len(folders) == 2
    for folder in folders:
        photos = sorted(folder.glob("*.jpg"))
        assert 3 <= len(photos) <= 4
        assert {identity_of(raw_shards, p.stem) for p in photos} == {int(folder.name[3:])}
    write_tuning_identities(raw_shards, tmp_path / "b", people=2, seed=1)
    assert [f.name for f in folders] == sorted(f.name for f in (tmp_path / "b").iterdir())
