//! The reseller's stock: shops, consignment, sales with shop and date, card histories,
//! replacements of lost cards (the credit moved exactly once, under lost answers, late
//! changes and kills), expiry, and the reports across batches.

use crate::support::*;

#[test]
fn consignment_follows_the_cards_between_shops_and_refuses_what_does_not_fit() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "6", "--value", "5", "-q"]);
    backdate(&cm, "B0001", "2026-10-01");
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let s = |i: usize| rows[i]["serial"].clone();
    let range = |a: usize, b: usize| format!("{}-{}", s(a), s(b));
    let before = remote_stats(&sb.base()).total_requests();
    let doc = cm.json(&[
        "consign",
        "B0001",
        "--serials",
        &range(0, 3),
        "--shop",
        " Kiosk   12 ",
        "--date",
        "2026-11-02",
    ]);
    assert_eq!(doc["shop"], "Kiosk 12");
    assert_eq!(doc["consigned"].as_array().unwrap().len(), 4);
    // The same shop in another case is the same shop; cards it holds already are said so.
    let doc = cm.json(&[
        "consign",
        "B0001",
        "--serials",
        &range(2, 4),
        "--shop",
        "KIOSK 12",
    ]);
    assert_eq!(doc["shop"], "Kiosk 12");
    assert_eq!(doc["already"].as_array().unwrap().len(), 2);
    // A card held by one shop is not handed to another.
    let out = cm.expect(
        9,
        &[
            "consign",
            "B0001",
            "--serials",
            &s(0),
            "--shop",
            "Station News",
        ],
    );
    assert!(
        out.stderr
            .contains("consigned to Kiosk 12 since 2026-11-02")
            && out.stderr.contains("cardmint return"),
        "{out:?}"
    );
    for bad in ["=cmd|x", "", "-x"] {
        cm.expect(2, &["consign", "B0001", "--serials", &s(5), "--shop", bad]);
    }
    cm.expect(
        4,
        &[
            "consign",
            "B0001",
            "--serials",
            &s(5),
            "--shop",
            "A",
            "--date",
            "2999-01-01",
        ],
    );
    // No stock moves before its batch was issued, nor comes back before it went.
    let out = cm.expect(
        4,
        &[
            "consign",
            "B0001",
            "--serials",
            &s(5),
            "--shop",
            "A",
            "--date",
            "2026-09-30",
        ],
    );
    assert!(
        out.stderr
            .contains("--date 2026-09-30 is before B0001 was issued (2026-10-01)"),
        "{out:?}"
    );
    let out = cm.expect(
        9,
        &[
            "return",
            "B0001",
            "--serials",
            &range(3, 4),
            "--date",
            "2026-11-01",
        ],
    );
    assert!(
        out.stderr.contains(&format!(
            "{}: returned on 2026-11-01, before it was consigned to Kiosk 12 on 2026-11-02",
            s(3)
        )),
        "{out:?}"
    );
    // A date in the future is refused as consign refuses it (exit 4).
    cm.expect(
        4,
        &[
            "return",
            "B0001",
            "--serials",
            &range(3, 4),
            "--date",
            "2999-01-01",
        ],
    );
    // Back from the shop, then to another.
    let doc = cm.json(&["return", "B0001", "--serials", &range(3, 4)]);
    // Not to another shop on a day before it came back: two shops would hold it at once.
    let out = cm.expect(
        9,
        &[
            "consign",
            "B0001",
            "--serials",
            &s(3),
            "--shop",
            "Elsewhere",
            "--date",
            "2026-11-03",
        ],
    );
    assert!(
        out.stderr.contains("before its last move between shops on"),
        "{out:?}"
    );
    assert_eq!(doc["returned"].as_array().unwrap().len(), 2);
    cm.expect(9, &["return", "B0001", "--serials", &s(5)]);
    cm.expect(
        0,
        &[
            "consign",
            "B0001",
            "--serials",
            &range(3, 5),
            "--shop",
            "Station News",
        ],
    );
    let shops = cm.json(&["shops"]);
    let listed: Vec<(String, u64)> = shops["shops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["consigned"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![("Kiosk 12".into(), 3), ("Station News".into(), 3)]
    );
    // Since its first consignment, as `consign --date` gave it (was the command's day).
    assert_eq!(shops["shops"][0]["since"], "2026-11-02", "{shops}");
    // All of that is the ledger's: nothing was sent.
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
    // A sale defaults to the consignee and today; another shop is refused unless said.
    let out = cm.expect(
        9,
        &[
            "activate",
            "B0001",
            "--serials",
            &s(3),
            "--shop",
            "Kiosk 12",
        ],
    );
    assert!(out.stderr.contains("--override-consignment"), "{out:?}");
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &s(0),
            "--sold-on",
            "2026-11-20",
        ],
    );
    let card = cm.json(&["card", &s(0)]);
    assert_eq!(card["sold_by"], "Kiosk 12");
    assert_eq!(card["sold_on"], "2026-11-20");
    assert_eq!(card["state"], "active");
    let events: Vec<&str> = card["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in ["issued", "create", "credit", "consigned", "sold", "sell"] {
        assert!(events.contains(&e), "{e}: {card}");
    }
    // A sale is recorded once: another date for a sold card is refused.
    cm.expect(
        9,
        &[
            "activate",
            "B0001",
            "--serials",
            &s(0),
            "--sold-on",
            "2026-11-21",
        ],
    );
    // Sold cards are not returned.
    cm.expect(9, &["return", "B0001", "--serials", &s(0)]);
}

#[test]
fn a_replacement_moves_the_credit_exactly_once_under_lost_answers_and_late_changes() {
    // A third of the changes lost or applied 700 ms after the client gave up.
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "0.35",
        "--fault-kinds",
        "lost,late",
        "--fault-commands",
        "settransaction,changeuserinfo,createcustomer",
        "--late-ms",
        "700",
        "--seed",
        "12",
    ]);
    let cm = Cardmint::against(&sb.url)
        .env("CARDMINT_SETTLE_DELAY_MS", "1200")
        .env("CARDMINT_TIMEOUT_MS", "1000");
    cm.expect(
        0,
        &[
            "issue", "--count", "3", "--value", "5", "-q", "--rate", "400",
        ],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    cm.expect(
        0,
        &[
            "consign",
            "B0001",
            "--serials",
            &rows[0]["serial"],
            "--shop",
            "Kiosk 12",
        ],
    );
    cm.expect(0, &["activate", "B0001", "--serials", &rows[0]["serial"]]);
    spend(&sb, &rows[0]["customer"], 4, "0.30");
    // Until it is done: a run may end unsettled (exit 3), the next goes on.
    let mut codes = Vec::new();
    for _ in 0..6 {
        let out = cm.run(&[
            "replace",
            &rows[0]["serial"],
            "--reason",
            "lost by its owner",
        ]);
        codes.push(out.code);
        if out.code == 0 {
            break;
        }
        assert_eq!(out.code, 3, "{out:?}");
    }
    assert_eq!(codes.last(), Some(&0), "{codes:?}");
    let stats = remote_stats(&sb.base());
    let faults: u64 = stats.faults.values().sum();
    assert!(faults >= 3, "the faults really came: {stats:?}");
    let old = cm.json(&["card", &rows[0]["serial"]]);
    let new_serial = old["replaced_by"].as_str().unwrap().to_string();
    let new = cm.json(&["card", &new_serial]);
    assert_eq!(new["replaces"], rows[0]["serial"].as_str());
    assert_eq!(new["batch"], "B0002");
    assert_eq!(new["value"], "5.00", "same face value");
    assert_eq!(new["sold_by"], "Kiosk 12", "it takes over the sale");
    assert_eq!(old["state"], "blocked");
    assert_eq!(old["reason"], "lost by its owner");
    let manifest = csv_rows(&cm.path("out/B0002/manifest.csv"));
    let new_customer = manifest[0]["customer"].clone();
    // The 3.80 left moved once: deducted from the old card once, loaded on the new once.
    assert_eq!(
        transactions(&sb.base(), &rows[0]["customer"]),
        vec![dec("5"), dec("-3.80")]
    );
    assert_eq!(transactions(&sb.base(), &new_customer), vec![dec("3.80")]);
    let state = remote_state(&sb.base());
    assert!(state.customers[&rows[0]["customer"]].blocked);
    assert!(
        !state.customers[&new_customer].blocked,
        "sold: issued active"
    );
    assert!(cm.path("out/B0002/cards.pdf").exists());
    // Done is done: again, nothing more is moved; the old card takes no top-up.
    cm.expect(0, &["replace", &rows[0]["serial"]]);
    cm.expect(9, &["topup", &rows[0]["serial"], "1.00"]);
    assert_eq!(transactions(&sb.base(), &new_customer), vec![dec("3.80")]);
    cm.expect(0, &["audit", "B0002"]);
}

#[test]
fn a_replacement_killed_at_each_step_moves_the_credit_once() {
    for point in [
        "block:after-answer",
        "deduct:before-send",
        "deduct:after-answer",
        "create:after-answer",
        "move:before-send",
        "move:after-answer",
    ] {
        let (sb, cm, serial, old) = a_sold_card_that_called("1.25");
        let killed = cm.run_env(&["replace", &serial], &[("CARDMINT_TEST_KILL_AT", point)]);
        assert_ne!(killed.code, 0, "{point}: {killed:?}");
        cm.expect(0, &["replace", &serial]);
        let customer = replacement_customer(&cm, &serial);
        assert_eq!(
            transactions(&sb.base(), &old),
            vec![dec("5"), dec("-3.75")],
            "{point}"
        );
        assert_eq!(
            transactions(&sb.base(), &customer),
            vec![dec("3.75")],
            "{point}"
        );
        assert_eq!(remote_state(&sb.base()).customers.len(), 2, "{point}");
    }
}

#[test]
fn expire_blocks_the_cards_past_their_date_and_the_cards_print_the_rule() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(
        0,
        &[
            "issue",
            "--count",
            "3",
            "--value",
            "5",
            "--expires",
            "1m",
            "-q",
        ],
    );
    backdate(&cm, "B0001", "2026-01-01");
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let text = crate::pdf::PdfFile::open(&cm.path("out/B0001/cards.pdf")).text();
    assert!(
        text.contains("Valid for 1 month from purchase"),
        "the printed note is the rule"
    );
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &rows[0]["serial"],
            "--sold-on",
            "2026-01-15",
            "--override-consignment",
        ],
    );
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &rows[1]["serial"],
            "--override-consignment",
        ],
    );
    let card = cm.json(&["card", &rows[0]["serial"]]);
    assert_eq!(card["expires_on"], "2026-02-15");
    let dry = cm.json(&["expire", "--dry-run"]);
    let due: Vec<&str> = dry["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["serial"].as_str().unwrap())
        .collect();
    assert_eq!(due, vec![rows[0]["serial"].as_str()]);
    assert!(!remote_state(&sb.base()).customers[&rows[0]["customer"]].blocked);
    assert_eq!(cm.json(&["expire"])["done"], 1);
    assert!(remote_state(&sb.base()).customers[&rows[0]["customer"]].blocked);
    let card = cm.json(&["card", &rows[0]["serial"]]);
    assert_eq!(
        (card["state"].as_str(), card["reason"].as_str()),
        (Some("blocked"), Some("expired"))
    );
    assert_eq!(cm.json(&["expire"])["done"], 0, "once");
    cm.expect(
        2,
        &[
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--expires-on",
            "2020-01-01",
        ],
    );
}

#[test]
fn the_report_counts_stock_sales_and_outstanding_credit_across_batches() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "4", "--value", "5", "-q"]);
    cm.expect(
        0,
        &[
            "issue",
            "--count",
            "2",
            "--value",
            "10",
            "--currency",
            "GBP",
            "--expires",
            "1m",
            "-q",
        ],
    );
    backdate(&cm, "B0001", "2026-10-01");
    backdate(&cm, "B0002", "2026-10-01");
    let a = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let b = csv_rows(&cm.path("out/B0002/manifest.csv"));
    let range = |r: &[std::collections::HashMap<String, String>]| {
        format!("{}-{}", r[0]["serial"], r[r.len() - 1]["serial"])
    };
    cm.expect(
        0,
        &[
            "consign",
            "B0001",
            "--serials",
            &range(&a[0..3]),
            "--shop",
            "Kiosk 12",
            "--date",
            "2026-11-02",
        ],
    );
    cm.expect(
        0,
        &[
            "consign",
            "B0002",
            "--serials",
            &range(&b),
            "--shop",
            "Station News",
            "--date",
            "2026-11-02",
        ],
    );
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &range(&a[0..2]),
            "--sold-on",
            "2026-11-10",
        ],
    );
    let today = chrono::Local::now().date_naive();
    let recent = (today - chrono::Duration::days(3)).to_string();
    cm.expect(
        0,
        &[
            "activate",
            "B0002",
            "--serials",
            &b[0]["serial"],
            "--sold-on",
            &recent,
        ],
    );
    cm.expect(
        0,
        &[
            "block",
            "B0001",
            "--serials",
            &a[2]["serial"],
            "--reason",
            "stolen",
        ],
    );
    spend(&sb, &a[0]["customer"], 5, "0.20");
    spend(&sb, &b[0]["customer"], 2, "1.50");
    let doc = cm.json(&["report", "--live", "--by", "shop"]);
    let row = |shop: &str| {
        doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["shop"] == shop)
            .unwrap_or_else(|| panic!("{shop}: {doc}"))
            .clone()
    };
    let kiosk = row("Kiosk 12");
    assert_eq!(kiosk["cards"], 3);
    assert_eq!(kiosk["sold"], 2);
    assert_eq!(kiosk["blocked"], 1);
    assert_eq!(kiosk["currency"], "EUR");
    // Read now: 5 - 1.00 on one card, 5 on the other.
    assert_eq!(kiosk["outstanding"], "9.00", "{doc}");
    assert_eq!(kiosk["outstanding_unread"], 0);
    let news = row("Station News");
    assert_eq!(
        (news["consigned"].as_u64(), news["sold"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(news["outstanding"], "7.00");
    assert_eq!(news["currency"], "GBP");
    assert_eq!(
        news["expiring_30_days"], 1,
        "sold 3 days ago, valid a month"
    );
    assert_eq!(row("(no shop)")["in_stock"], 1);
    // Totals per currency, never added across currencies.
    let totals = doc["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 2);
    let eur = totals.iter().find(|t| t["currency"] == "EUR").unwrap();
    assert_eq!(
        (eur["cards"].as_u64(), eur["face_value"].as_str()),
        (Some(4), Some("20.00"))
    );
    assert_eq!(doc["expiring"][0]["serial"], b[0]["serial"].as_str());
    // The period counts the sales in it.
    let nov = cm.json(&[
        "report",
        "--by",
        "month",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-30",
    ]);
    let months: Vec<&str> = nov["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["month"].as_str().unwrap())
        .collect();
    assert!(
        months.contains(&"2026-11") && months.contains(&"no sale date"),
        "{nov}"
    );
    // The period bounds the sales, never the stock: B0002's sale (3 days ago) is outside
    // the first half of November, and still in every total but the period's sales.
    let half = cm.json(&[
        "report",
        "--by",
        "month",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-15",
    ]);
    let by_shop = cm.json(&["report", "--by", "shop"]);
    for (t, u) in half["totals"]
        .as_array()
        .unwrap()
        .iter()
        .zip(by_shop["totals"].as_array().unwrap())
    {
        for key in ["cards", "active", "sold", "outstanding", "loaded"] {
            assert_eq!(t[key], u[key], "{key}: {half}\n{by_shop}");
        }
    }
    let total = |doc: &serde_json::Value, currency: &str, key: &str| {
        doc["totals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["currency"] == currency)
            .unwrap()[key]
            .clone()
    };
    assert_eq!(total(&half, "EUR", "sales"), 2);
    assert_eq!(total(&half, "GBP", "sales"), 0);
    // The chart of credit outstanding ends where the table's total stands, cards issued
    // active among them (they were missing from the chart).
    cm.expect(
        0,
        &["issue", "--count", "1", "--value", "5", "--active", "-q"],
    );
    let doc = cm.json(&["report", "--by", "shop"]);
    for currency in ["EUR", "GBP"] {
        let chart = doc["outstanding_by_week"][currency].as_array().unwrap();
        assert_eq!(
            chart.last().unwrap()["outstanding"],
            total(&doc, currency, "outstanding"),
            "{currency}: {doc}"
        );
    }
    let by_batch = cm.json(&["report", "--by", "batch"]);
    assert_eq!(by_batch["rows"].as_array().unwrap().len(), 3);
    // The table on a terminal, whole: every figure in its column.
    let text = cm.expect(0, &["report", "--by", "batch"]).stdout;
    assert_eq!(
        text,
        concat!(
            "batch  cur  cards  stock  consigned  sold  active  blocked  expired  face value  loaded  outstanding  sales  sales value  expiring\n",
            "B0001  EUR      4      1          0     2       2        1        0       20.00   20.00         9.00      2        10.00         0\n",
            "B0003  EUR      1      0          0     1       1        0        0        5.00    5.00         5.00      0         0.00         0\n",
            "B0002  GBP      2      0          1     1       1        0        0       20.00   20.00         7.00      1        10.00         1\n",
            "total  EUR      5      1          0     3       3        1        0       25.00   25.00        14.00      2        10.00         0\n",
            "total  GBP      2      0          1     1       1        0        0       20.00   20.00         7.00      1        10.00         1\n",
            "1 active card(s) never read from the platform count at what was loaded; `cardmint report --live` reads every balance now\n",
        ),
        "{text}"
    );
    // The files: CSV, XLSX with no formula, HTML with its own charts and nothing from elsewhere.
    cm.expect(0, &["report", "--out", "r.csv"]);
    let csv = csv_rows(&cm.path("r.csv"));
    assert_eq!(csv.iter().filter(|r| r["shop"] == "total").count(), 2);
    cm.expect(0, &["report", "--out", "r.xlsx"]);
    let cells = xlsx_cells(&cm.path("r.xlsx"));
    assert!(cells.len() > 40 && cells.iter().all(|c| !c.2), "{cells:?}");
    cm.expect(0, &["report", "--out", "r.html"]);
    let html = std::fs::read_to_string(cm.path("r.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 3, "three charts");
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
    for outside in ["<script", "http://", "https://", "src=", "@import"] {
        let found = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!found.contains(outside), "{outside} in the page");
    }
    assert!(html.contains("Kiosk 12") && html.contains("Station News"));
    cm.expect(2, &["report", "--out", "r.pdf"]);
    cm.expect(
        2,
        &["report", "--since", "2026-12-01", "--until", "2026-11-01"],
    );
}

#[test]
fn the_manifest_xlsx_is_all_text() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "3", "--value", "5", "-q"],
    );
    let cells = xlsx_cells(&cm.path("out/B0001/manifest.xlsx"));
    assert!(cells.len() >= 12 + 3 * 6, "{cells:?}");
    for (r, t, formula) in &cells {
        assert!(!formula, "{r}: a formula");
        assert!(
            t == "s" || t == "inlineStr" || t == "str",
            "{r}: type {t:?}"
        );
    }
}

#[test]
fn a_used_card_is_replaced_in_whole_cents_and_what_stays_behind_is_said() {
    // A call of 0.01667 leaves 4.98333: the platform takes two decimals, so 4.98 moves and
    // 0.00333 stays on the old card (before: refused as an invalid amount, the old card
    // blocked with its credit and the replacement never loaded).
    let (sb, cm, serial, old) = a_sold_card_that_called("0.01667");
    let out = cm.expect(0, &["replace", &serial]);
    assert!(
        says(&out.stdout, "0.00333 under a cent stays on the old card"),
        "{out:?}"
    );
    let customer = replacement_customer(&cm, &serial);
    assert_eq!(transactions(&sb.base(), &old), vec![dec("5"), dec("-4.98")]);
    assert_eq!(transactions(&sb.base(), &customer), vec![dec("4.98")]);
    cm.expect(0, &["audit", "B0002"]);
    // The old card says what it holds now, not the read before the deduction (4.98333).
    let card = cm.json(&["card", &serial]);
    assert_eq!(card["balance_after_move"], "0.00", "{card}");
    let text = cm.expect(0, &["card", &serial]).stdout;
    assert!(
        text.contains("balance 0.00 EUR after 4.98 EUR moved off it"),
        "{text}"
    );
    // The report counts what the new card holds: the read made before its load (0.00) plus
    // the load since, as a live read says (it said 0.00 outstanding).
    let total = |doc: &serde_json::Value| doc["totals"][0]["outstanding"].clone();
    let report = cm.json(&["report"]);
    let live = cm.json(&["report", "--live"]);
    assert_eq!(total(&report), "4.98", "{report}");
    assert_eq!(total(&report), total(&live), "{live}");
}

#[test]
fn a_sale_is_recorded_with_its_unblock_and_never_before() {
    // Killed before the unblock left (before: the sale was recorded first, so the card stayed
    // "sold" and blocked, and a refused run did the same).
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let serial = rows[0]["serial"].clone();
    let activate = [
        "activate",
        "B0001",
        "--serials",
        serial.as_str(),
        "--override-consignment",
    ];
    let killed = cm.run_env(&activate, &[("CARDMINT_TEST_KILL_AT", "sell:before-send")]);
    assert_eq!(killed.code, -1, "{killed:?}");
    let card = cm.json(&["card", &serial]);
    assert_eq!(card["state"], "ready", "{card}");
    assert!(card["sold_on"].is_null(), "not sold while blocked: {card}");
    assert!(remote_state(&sb.base()).customers[&rows[0]["customer"]].blocked);
    cm.expect(0, &activate);
    let card = cm.json(&["card", &serial]);
    assert_eq!(card["state"], "active", "{card}");
    assert!(!card["sold_on"].is_null(), "sold with its unblock: {card}");
}

/// One retail card of 5, sold, that made one call costing `charge`: the sandbox, cardmint,
/// its serial and its customer name.
fn a_sold_card_that_called(charge: &str) -> (SandboxProcess, Cardmint, String, String) {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let (serial, customer) = (rows[0]["serial"].clone(), rows[0]["customer"].clone());
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &serial,
            "--override-consignment",
        ],
    );
    spend(&sb, &customer, 1, charge);
    (sb, cm, serial, customer)
}

/// The customer name of the card that replaced `serial`.
fn replacement_customer(cm: &Cardmint, serial: &str) -> String {
    let new = cm.json(&["card", serial])["replaced_by"]
        .as_str()
        .unwrap()
        .to_string();
    cm.json(&["card", &new])["customer"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_call_billed_between_the_read_and_the_deduction_is_never_moved() {
    // A call in progress on the card as it is blocked ends, and is billed 0.50, after the
    // read that measures it (2) or after the read just before the deduction (3). Before: the
    // full amount was deducted (refused as more than the card held, the replacement stuck) or
    // loaded on the new card with the old one below zero.
    for reads in ["2", "3"] {
        let sb = SandboxProcess::spawn(&[
            "--addr",
            "127.0.0.1:0",
            "--call-at-block",
            "0.50",
            "--call-at-block-reads",
            reads,
        ]);
        let cm = Cardmint::against(&sb.url);
        cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
        let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
        let (serial, old) = (rows[0]["serial"].clone(), rows[0]["customer"].clone());
        cm.expect(
            0,
            &[
                "activate",
                "B0001",
                "--serials",
                &serial,
                "--override-consignment",
            ],
        );
        let out = cm.run(&["replace", &serial]);
        assert_eq!(out.code, 0, "reads {reads}: {out:?}");
        let new = replacement_customer(&cm, &serial);
        assert_eq!(
            transactions(&sb.base(), &old),
            vec![dec("5"), dec("-4.50")],
            "reads {reads}"
        );
        assert_eq!(
            transactions(&sb.base(), &new),
            vec![dec("4.50")],
            "reads {reads}"
        );
        let state = remote_state(&sb.base());
        assert_eq!(state.customers[&old].balance, dec("0"), "reads {reads}");
        cm.expect(0, &["audit", "B0001"]);
        cm.expect(0, &["audit", "B0002"]);
    }
}

#[test]
fn a_call_billed_after_the_deduction_is_not_loaded_onto_the_new_card() {
    // The platform lets a call in progress overdraw. Ending right after the deduction's
    // answer (4), the call leaves the old card at -0.50: the read after the deduction sees it
    // and the new card gets 4.50. Before: 5.00, the holder's call paid by the reseller.
    // Ending after that read too (5), nothing can see it in time: `audit` names it.
    for (reads, loaded, audit) in [("4", "4.50", 0), ("5", "5", 5)] {
        let sb = SandboxProcess::spawn(&[
            "--addr",
            "127.0.0.1:0",
            "--call-at-block",
            "0.50",
            "--call-at-block-reads",
            reads,
        ]);
        let cm = Cardmint::against(&sb.url);
        cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
        let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
        let (serial, old) = (rows[0]["serial"].clone(), rows[0]["customer"].clone());
        cm.expect(
            0,
            &[
                "activate",
                "B0001",
                "--serials",
                &serial,
                "--override-consignment",
            ],
        );
        let out = cm.run(&["replace", &serial]);
        assert_eq!(out.code, 0, "reads {reads}: {out:?}");
        let new = replacement_customer(&cm, &serial);
        assert_eq!(
            transactions(&sb.base(), &old),
            vec![dec("5"), dec("-5")],
            "reads {reads}"
        );
        assert_eq!(
            transactions(&sb.base(), &new),
            vec![dec(loaded)],
            "reads {reads}"
        );
        let state = remote_state(&sb.base());
        assert_eq!(state.customers[&old].balance, dec("-0.50"), "reads {reads}");
        let out = cm.run(&["audit", "B0001"]);
        assert_eq!(out.code, audit, "reads {reads}: {out:?}");
        if audit != 0 {
            assert!(
                out.stdout
                    .contains("below zero by 0.50 after its credit moved"),
                "{out:?}"
            );
        }
        cm.expect(0, &["audit", "B0002"]);
    }
}

#[test]
fn a_replace_refused_for_a_card_not_provisioned_claims_nothing() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let killed = cm.run_env(
        &["issue", "--count", "1", "--value", "3", "-q"],
        &[("CARDMINT_TEST_KILL_AT", "create:before-send")],
    );
    assert_eq!(killed.code, -1, "{killed:?}");
    // The first card of a fresh ledger (its row is recorded before any request).
    let out = cm.run(&["replace", "0000000013"]);
    assert_eq!(out.code, 9, "{out:?}");
    assert!(out.stderr.contains("not provisioned"), "{out:?}");
    cm.expect(0, &["resume", "B0001", "-q"]);
    assert!(
        cm.expect(0, &["settle"])
            .stdout
            .contains("nothing to settle")
    );
}

#[test]
fn the_report_counts_a_replacements_credit_as_a_live_read_does() {
    // The new card's balance was read (0.00) before its load: the report counted 0.00
    // outstanding where a live read said 5.00.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let serial = csv_rows(&cm.path("out/B0001/manifest.csv"))[0]["serial"].clone();
    cm.expect(
        0,
        &[
            "consign",
            "B0001",
            "--serials",
            &serial,
            "--shop",
            "Kiosk 1",
        ],
    );
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &serial,
            "--shop",
            "Kiosk 1",
            "--override-consignment",
            "-q",
        ],
    );
    cm.expect(0, &["replace", &serial, "-q"]);
    let total = |doc: &serde_json::Value| doc["totals"][0]["outstanding"].clone();
    let report = cm.json(&["report"]);
    let live = cm.json(&["report", "--live"]);
    assert_eq!(total(&report), "5.00", "{report}");
    assert_eq!(total(&report), total(&live), "{live}");
    // One sale, said alike by `shops` and the report (shops counted the replacement too).
    let shops = cm.json(&["shops"]);
    assert_eq!(shops["shops"][0]["sold"], 1, "{shops}");
    assert_eq!(report["totals"][0]["sales"], 1, "{report}");
}
