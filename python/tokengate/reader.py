"""Read tokengate's sealed Parquet (Parquet Modular Encryption) into pyarrow and pandas.

Example::

    from tokengate.reader import read_table, iter_row_groups

    df = read_table("safe.parquet").to_pandas()
    for epoch in range(3):
        for batch in iter_row_groups("safe.parquet", shuffle_seed=epoch):
            train(batch.to_pandas())

Every open unwraps the file's data keys through ``tokengate keys unwrap`` (audited); pyarrow
decrypts and authenticates every page itself.
"""

import random

import pyarrow.parquet as pq

from .encryption import decryption_properties

__all__ = ["open_file", "read_table", "iter_row_groups"]


def open_file(path, columns=None, binary=None, keyring=None, env=None, encrypted=True):
    """A ``pyarrow.parquet.ParquetFile`` for ``path`` decrypted with tokengate's keys.

    ``encrypted=False`` opens a plaintext Parquet file the same way (no key is asked for).
    """
    props = decryption_properties(binary, keyring, env) if encrypted else None
    return pq.ParquetFile(path, decryption_properties=props)


def read_table(path, columns=None, binary=None, keyring=None, env=None, encrypted=True):
    """The whole file (or ``columns``) as a ``pyarrow.Table``; ``.to_pandas()`` gives a DataFrame."""
    props = decryption_properties(binary, keyring, env) if encrypted else None
    return pq.read_table(path, columns=columns, decryption_properties=props)


def iter_row_groups(path, shuffle_seed=None, columns=None, binary=None, keyring=None, env=None, encrypted=True):
    """Yields the file's row groups as ``pyarrow.Table`` objects, in a shuffled order.

    :param shuffle_seed: seeds the order (``random.Random(seed)``): the same seed gives the same
        order, a new seed per epoch a new one; ``None`` keeps the file's order.
    """
    f = open_file(path, columns, binary, keyring, env, encrypted)
    order = list(range(f.num_row_groups))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    for g in order:
        yield f.read_row_group(g, columns=columns)
