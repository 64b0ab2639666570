//! `meli-local`: the embedded store with its change feed, the in-process runner and the meli-radar command.
