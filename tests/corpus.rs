//! Placeholder until the corpus lands.
