"""The keyword search index: one package owns how text becomes terms, how the index is laid out in Redis,
the Lua that keeps it in step with every write, the query, and its verification and repair.

  analyzer.py  text -> terms and a duplicate fingerprint (the rules both indexing and queries use)
  postings.py  a term's postings: the bucket layout, read and written (Python and Lua)
  lua.py       DOCUMENT_LUA, which every memory write script includes (index_document,
               unindex_document, the duplicate map), and the index's own repair scripts
  query.py     KeywordIndex: a text's BM25 scores over a user's memories, bounded reads
  verify.py    IndexVerifier: what `memory-api check` finds wrong with a user's index
  repair.py    PostingsRepair: what `memory-api reindex` mends beyond re-indexing memories

Services ask it questions (scores for a text, problems for a user); nothing
outside it knows a posting's bytes. Key names stay in store/keys.py with every
other key. There is one on-disk format: a change of layout or of the analyzer
bumps `store.keys.PREFIX`, and `memory-api migrate` copies a store of the
previous format and indexes it anew (store/migrate.py).

This module imports nothing, so the store can include the Lua fragments without
an import cycle.
"""
