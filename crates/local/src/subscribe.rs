//! `meli-radar subscribe / subscriptions / unsubscribe`: SNS subscriptions on the alerts topic, each
//! with the filter policy built from its flags (docs/alerts.md §2).
#![allow(clippy::print_stdout)] // printing is what a command line does

use anyhow::{bail, Context, Result};
use meli_core::ids::{CategoryId, EntryId, SiteId};
use meli_core::notify::{Protocol, Subscription, SubscriptionAdmin, SubscriptionFilter};
use meli_core::signals::EventKind;

#[derive(Debug, clap::Args)]
pub struct SubscribeArgs {
    /// Send alerts to this e-mail address (SNS asks it to confirm first).
    #[arg(long, required_unless_present = "sms", conflicts_with = "sms")]
    pub email: Option<String>,
    /// Send alerts by SMS to this number, in E.164 form (+5511999999999).
    #[arg(long)]
    pub sms: Option<String>,
    /// Sites to hear about (repeat or comma-separate), such as MLB.
    #[arg(long, required = true, value_delimiter = ',')]
    pub site: Vec<String>,
    /// Only these categories, such as MLB1055.
    #[arg(long, value_delimiter = ',')]
    pub category: Vec<String>,
    /// Only these events: new_entrant, reentry, dropped_out, entered_top_n, left_top_n, new_number_one,
    /// climber, faller, price_drop, reviews_surge, digest.
    #[arg(long, value_delimiter = ',')]
    pub event: Vec<String>,
    /// Only these products, such as MLB19615337.
    #[arg(long, value_delimiter = ',')]
    pub product: Vec<String>,
    /// Only events at least this severe: info, notable or major.
    #[arg(long)]
    pub min_severity: Option<String>,
    /// The alerts topic (Terraform output topic_arn).
    #[arg(long, env = "MELI_SNS_TOPIC_ARN")]
    pub topic_arn: String,
}

#[derive(Debug, clap::Args)]
pub struct SubscriptionsArgs {
    #[arg(long, env = "MELI_SNS_TOPIC_ARN")]
    pub topic_arn: String,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct UnsubscribeArgs {
    /// The subscription ARN (from `meli-radar subscriptions`).
    pub arn: String,
    #[arg(long, env = "MELI_SNS_TOPIC_ARN")]
    pub topic_arn: String,
}

/// The protocol, endpoint and filter of `subscribe`'s flags, each checked with a message that says
/// what to pass instead.
pub fn parse(args: &SubscribeArgs) -> Result<(Protocol, String, SubscriptionFilter)> {
    let (protocol, endpoint) = match (&args.email, &args.sms) {
        (Some(e), None) => {
            let e = e.trim();
            let ok = e.split_once('@').is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.ends_with('.'));
            if !ok || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
                bail!("--email {e:?} is not an e-mail address; pass one such as ana@example.com");
            }
            (Protocol::Email, e.to_string())
        }
        (None, Some(n)) => {
            let n: String = n.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
            let digits = n.strip_prefix('+').unwrap_or("");
            if digits.len() < 8 || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
                bail!("--sms {n:?} is not a phone number in E.164 form; pass one such as +5511999999999");
            }
            (Protocol::Sms, n)
        }
        _ => bail!("pass exactly one of --email ADDRESS or --sms +NUMBER"),
    };
    let mut sites = Vec::new();
    for s in &args.site {
        sites.push(SiteId::parse(s).map_err(|e| anyhow::anyhow!("--site: {e}"))?.to_string());
    }
    let mut categories = Vec::new();
    for c in &args.category {
        let c = CategoryId::parse(c).map_err(|e| anyhow::anyhow!("--category: {e}"))?;
        if !sites.iter().any(|s| s == c.site().as_str()) {
            bail!("--category {c} belongs to site {}, which is not among --site {}", c.site(), sites.join(","));
        }
        categories.push(c.to_string());
    }
    let mut events = Vec::new();
    for e in &args.event {
        let e = e.trim().to_ascii_lowercase();
        if e != "digest" && !EventKind::ALL.iter().any(|k| k.as_str() == e) {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            bail!("--event {e:?} is not an event kind; use one of {}, digest", known.join(", "));
        }
        events.push(e);
    }
    let mut products = Vec::new();
    for p in &args.product {
        products.push(EntryId::parse(p).map_err(|e| anyhow::anyhow!("--product: {e}"))?.to_string());
    }
    let min_severity = match args.min_severity.as_deref().map(|s| s.trim().to_ascii_lowercase()) {
        None => None,
        Some(s) if ["info", "notable", "major"].contains(&s.as_str()) => Some(s),
        Some(s) => bail!("--min-severity {s:?}: use info, notable or major"),
    };
    Ok((protocol, endpoint, SubscriptionFilter { sites, categories, events, products, min_severity }))
}

/// Creates the subscription and says what happens next.
pub async fn subscribe(admin: &dyn SubscriptionAdmin, args: &SubscribeArgs) -> Result<Subscription> {
    let (protocol, endpoint, filter) = parse(args)?;
    let sub = admin.subscribe(protocol, &endpoint, &filter).await.context("SNS did not create the subscription")?;
    Ok(sub)
}

fn line(s: &Subscription) -> String {
    let policy = s.filter_policy.as_ref().map(|p| p.to_string()).unwrap_or_else(|| "(all alerts)".into());
    format!("{}  {:<5} {}  {}", s.arn, s.protocol, s.endpoint, policy)
}

async fn admin(topic_arn: &str) -> Result<meli_aws::SnsAlertPublisher> {
    if !topic_arn.starts_with("arn:") {
        bail!("--topic-arn {topic_arn:?} is not an ARN; pass the alerts topic (Terraform output topic_arn) or set MELI_SNS_TOPIC_ARN");
    }
    let clients = meli_aws::sdk::Clients::new(&meli_aws::sdk::load().await);
    Ok(meli_aws::SnsAlertPublisher::new(clients.sns, topic_arn))
}

pub async fn run_subscribe(args: SubscribeArgs) -> Result<()> {
    parse(&args)?;
    let sns = admin(&args.topic_arn).await?;
    let sub = subscribe(&sns, &args).await?;
    println!("{}", line(&sub));
    if sub.protocol == "email" {
        println!("SNS sent a confirmation e-mail; alerts start once the link in it is opened.");
    }
    Ok(())
}

pub async fn run_subscriptions(args: SubscriptionsArgs) -> Result<()> {
    let sns = admin(&args.topic_arn).await?;
    let subs = sns.subscriptions().await.context("SNS did not list the subscriptions")?;
    if subs.is_empty() && !args.json {
        println!("no subscriptions yet; add one with `meli-radar subscribe --email ADDRESS --site MLB`");
    }
    for s in subs {
        if args.json {
            println!("{}", serde_json::to_string(&s)?);
        } else {
            println!("{}", line(&s));
        }
    }
    Ok(())
}

pub async fn run_unsubscribe(args: UnsubscribeArgs) -> Result<()> {
    let sns = admin(&args.topic_arn).await?;
    sns.unsubscribe(&args.arn).await.with_context(|| format!("SNS did not remove {}", args.arn))?;
    println!("removed {}", args.arn);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use meli_core::notify::RecordingPublisher;
    use serde_json::json;

    fn args() -> SubscribeArgs {
        SubscribeArgs {
            email: Some("ana@example.com".into()),
            sms: None,
            site: vec!["MLB".into()],
            category: vec![],
            event: vec![],
            product: vec![],
            min_severity: None,
            topic_arn: "arn:aws:sns:us-east-1:000000000000:alerts".into(),
        }
    }

    #[tokio::test]
    async fn flags_become_a_filter_policy() {
        let admin = RecordingPublisher::new();
        let mut a = args();
        a.category = vec!["MLB1055".into()];
        a.event = vec!["new_number_one".into(), "PRICE_DROP".into()];
        a.min_severity = Some("notable".into());
        let s = subscribe(&admin, &a).await.unwrap();
        assert_eq!(
            s.filter_policy,
            Some(
                json!({"site": ["MLB"], "category": ["MLB1055"], "event": ["new_number_one", "price_drop"], "severity": ["notable", "major"]})
            )
        );
        assert_eq!(s.protocol, "email");
    }

    #[test]
    fn bad_flags_say_what_to_pass() {
        let mut a = args();
        a.email = Some("not-an-address".into());
        assert!(parse(&a).unwrap_err().to_string().contains("such as ana@example.com"));
        let mut a = args();
        a.email = None;
        a.sms = Some("11 9999".into());
        assert!(parse(&a).unwrap_err().to_string().contains("E.164"));
        a.sms = Some("+55 11 99999-9999".into());
        assert_eq!(parse(&a).unwrap().1, "+5511999999999");
        let mut a = args();
        a.category = vec!["MLA1055".into()];
        assert!(parse(&a).unwrap_err().to_string().contains("not among --site"));
        let mut a = args();
        a.event = vec!["teleported".into()];
        assert!(parse(&a).unwrap_err().to_string().contains("new_number_one"));
    }
}
