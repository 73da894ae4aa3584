//! Questions a newcomer would ask in their own words, describing a situation instead of naming
//! it, over the sales handbooks in ../shared/corpus/sales, with the pages that answer them.
//! Each question was written after reading its pages, keeping clear of the words of their
//! titles and headings; a page is listed only when it really answers the question (one to three
//! per question).

/// (question, suffixes of the paths of the pages that answer it)
pub const OTHER_WORDS: &[(&str, &[&str])] = &[
    // GitLab handbook
    (
        "I'll be on holiday for two weeks, who looks after my accounts while I'm away?",
        &["csm/pto/index.html"],
    ),
    (
        "as a brand new hire, can I sit in on a senior colleague's meetings with buyers, and how should I behave while I listen?",
        &["sales/shadow-program/index.html", "sales/onboarding/joining_customer_calls"],
    ),
    (
        "can the venture firms backing us open doors at a huge target account",
        &["sales/assistance-from-investors/index.html"],
    ),
    ("rehearse a tough customer conversation with a teammate", &["csm/roleplays/index.html"]),
    (
        "procurement sent a huge formal vendor requirements document with a deadline",
        &["tools-and-resources/rfp/index.html"],
    ),
    (
        "somewhere safe to show the product off to a prospect",
        &["customer-success/demo-systems/index.html", "ce/tools/demo_instances"],
    ),
    (
        "buyer can't decide between us hosting it or running it on their servers",
        &["strategic-marketing/dot-com-vs-self-managed/index.html"],
    ),
    (
        "where to find approved slide decks and see if the buyer opened them",
        &["field-communications/gitlab-highspot/index.html"],
    ),
    (
        "can I capture my video meetings with prospects, and what privacy rules apply",
        &["go-to-market/chorus/index.html"],
    ),
    (
        "how many purchased seats is the customer using",
        &["sales-systems/license-usage-app/index.html"],
    ),
    (
        "customer's security team blocks the software from sending statistics back to us",
        &["csm/service-ping-faq/index.html"],
    ),
    (
        "get happy customers to rate us on G2",
        &["customer-reference-program/peer-reviews/index.html"],
    ),
    (
        "how do I get my customer's execs onto the quarterly group that shapes our roadmap",
        &["customer-reference-program/CAB/index.html"],
    ),
    (
        "I'm staffing our stand at a trade show next week. How do I get the monitors ready, and what will visitors probably ask me?",
        &[
            "demo/conference-booth-setup/index.html",
            "technical-marketing/event-booth-questions.html",
        ],
    ),
    (
        "getting a spreadsheet of conference contacts into the marketing database",
        &["marketing-operations/list-import/index.html"],
    ),
    (
        "publicly thank colleagues who helped win my deal",
        &["field-enablement/field-team-recognition/index.html"],
    ),
    (
        "Gartner sent a survey for a report ranking suppliers, who handles it",
        &["strategic-marketing/analyst-relations/index.html"],
    ),
    (
        "customer paid but never got their product key",
        &["sales/field-operations/order-processing/index.html"],
    ),
    (
        "Before they can pay us, the customer's accounts payable team wants us to complete their supplier onboarding paperwork. Who fills that in and who signs it?",
        &["sales/field-operations/order-processing/index.html"],
    ),
    (
        "after a consulting project, look back at what went wrong without pointing fingers",
        &["internal/root-cause-analysis.html"],
    ),
    (
        "a workshop to find where the customer's software delivery gets stuck",
        &["sa-practices/value-stream-assessments/index.html"],
    ),
    (
        "numbers and customer stories I can quote to show we deliver results",
        &["command-of-the-message/proof-points/index.html"],
    ),
    (
        "The customer wants our consultants to help them roll out. How do I add paid expert help to the deal and get the paperwork describing that work drafted?",
        &["professional-services-engineering/selling/index.html"],
    ),
    (
        "A customer running it on their own hardware has outgrown their machines and wants to move to Kubernetes in the cloud; what is my part in that?",
        &["csm/services/infrastructure-upgrade/index.html"],
    ),
    (
        "many accounts want the same missing capability, how do I tell product",
        &["customer-success/csm/product/index.html"],
    ),
    (
        "between the big yearly reviews, how do I keep the customer's senior leaders involved",
        &["csm/leadership-recurring-checkin/index.html"],
    ),
    (
        "our hosted service went down for my customer, where are updates to share",
        &["csm/escalations/infrastructure/index.html"],
    ),
    (
        "where are my follow-up reminders per account, and can I postpone one",
        &["gainsight/ctas/index.html"],
    ),
    ("would our customers recommend us to a friend", &["c360-overview/nps-csat-scores/index.html"]),
    (
        "how often should I meet each account for routine check-ins, and what should we talk about",
        &["csm/cadence-calls/index.html"],
    ),
    (
        "working with the colleague who books my first meetings from cold outreach",
        &["sdr/sales-sdr-alignment/index.html"],
    ),
    (
        "a new customer's first weeks: what happens and how soon should they benefit",
        &[
            "customer-success/csm/onboarding/index.html",
            "enterprise-success/team-culture/customer-journey",
        ],
    ),
    // Sourcegraph handbook
    (
        "I work on the product side and would like to talk directly with a few customers for research, how do I arrange that?",
        &["sales/onboarding/joining_customer_calls", "customer-success/csm/product/index.html"],
    ),
    (
        "the buyer's infosec team sent a long list of compliance questions, who fills it in",
        &["sales/process/salessecurity", "ce/process/security-reviews"],
    ),
    (
        "a consultancy wants paying for sending us customers",
        &["sales/tools/referral_and_reseller_policy"],
    ),
    (
        "customer wants to pay through their Google spending commitment instead of directly",
        &["sales/tools/GCP_Marketplace_Guidance"],
    ),
    (
        "The renewal paperwork is running late and their contract ends on Friday. Can I keep the customer's instance working for a few more weeks, and who has to approve that?",
        &["ce/process/license_keys"],
    ),
    (
        "what must be agreed before a prospect starts testing the product on their own infrastructure",
        &["ce/process/tech-win-process"],
    ),
    (
        "small company just signed, what must I fill in for the post-sale team",
        &["sales/smb/smb-handoff"],
    ),
    (
        "hosted service will be offline for an upgrade, how do we warn customers",
        &["support/process/cloud-maintenance-window"],
    ),
    (
        "someone emailed asking us to erase everything we hold about them under privacy law",
        &["support/process/permanently_deleting_user_data"],
    ),
    (
        "a support ticket turned out not to be a bug, the customer wants something the product can't do yet",
        &["support/process/product-gap-process", "support/process/product-feedback-process"],
    ),
    ("mail a champion a thank-you hoodie", &["departments/marketing/swag"]),
    (
        "prospect's developers still use an old open source code browser from Sun Microsystems days",
        &["marketing/process/opengrok_vs_sourcegraph"],
    ),
    (
        "a competitor made big news, how do we publish a reaction fast",
        &["marketing_rapid_response_process/index"],
    ),
    (
        "A customer who runs everything on their own machines wants us to operate it for them instead. What are the steps, and does their existing data come along?",
        &[
            "ce/process/Cloud-Migration-for-Onprem-Customers",
            "risk-mitigation/self-managed-vs-saas/index.html",
            "migrations/SM-to-SaaS/index.html",
        ],
    ),
    ("only half the customer's paid users ever log in, what now", &["ta-playbooks/ta-scenarios"]),
    ("what quarterly numbers is a new quota carrier judged on", &["sales/sales-performance-goals"]),
    (
        "must my messages with customers land in the CRM, and what about phone conversations",
        &["sales/tools/records"],
    ),
    (
        "customer is asleep while I work their urgent ticket, hand it to their region?",
        &["support/process/moving-tickets-based-on-timezone"],
    ),
];
