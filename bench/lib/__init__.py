"""What the bench scripts share, so that each script holds only what it measures.

A script run as ``python bench/x.py`` has bench/ first on ``sys.path`` and imports these
as ``from lib.queries import QUERIES``. No module here writes into the repository or
reaches past 127.0.0.1; none asserts a number.

- ``accents``: Spanish words whose accented letters a scrape dropped, put back;
- ``collection``: the search-evaluation collection (EJAtlas cases + demo testimonies)
  and its real passages, embedded once and cached under /tmp;
- ``synthetic``: synthetic archives of any size mixed from those real passages, and
  loading one through ``Store.add_testimony``;
- ``queries``: the typed bench queries and the held-out real passages used as queries;
- ``recall``: exact top-k and recall@k against it (ties with the k-th score count);
- ``servers``: ``voces`` subprocesses, a server started and waited for, its memory and CPU;
- ``timing``: progress lines, percentiles, latency series with the CPU they cost;
- ``homes``: what a VOCES_HOME holds on disk, and its index's metadata;
- ``txtai_side``: txtai over the same vectors as Voces (bench/search.py's baseline);
- ``wer``: word error rate.
"""
