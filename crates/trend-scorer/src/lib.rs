//! `trend-scorer`: Lambda: scores snapshot inserts from DynamoDB Streams.
