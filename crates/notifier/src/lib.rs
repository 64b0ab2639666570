//! `notifier`: Lambda: sends alerts for event inserts to SNS and Slack.
