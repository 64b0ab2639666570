//! `meli-aws`: DynamoDB store, SNS publisher, Secrets Manager secrets and token store, the stream-record codec.
