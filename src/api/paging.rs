//! Paging call records, the one way: 500 a page, by (date, call id) so that records sharing a
//! second are neither lost nor repeated, until `MoreData` is False; a record the platform sends
//! twice is listed once, and a platform that announces more data but sends nothing new is a
//! protocol error, never a silent stop or an endless loop. The page read itself (with its
//! throttle and retries) is the caller's.

use chrono::NaiveDateTime;

use super::{ApiError, CallPage, CallQuery, CallRecord, Command, Direction, MAX_RECORD_COUNT};

/// Every call record: backward from now (`since` None) or forward from `since`, oldest first.
/// `read` reads one page; its error type carries [`ApiError`] for the protocol error.
pub fn all_calls<E: From<ApiError>>(
    since: Option<NaiveDateTime>,
    mut read: impl FnMut(&CallQuery) -> Result<CallPage, E>,
) -> Result<Vec<CallRecord>, E> {
    let mut query = CallQuery {
        date: since,
        call_id: None,
        record_count: Some(MAX_RECORD_COUNT),
        direction: Some(if since.is_some() {
            Direction::Forward
        } else {
            Direction::Backward
        }),
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut records = Vec::new();
    loop {
        let page = read(&query)?;
        let mut new = 0;
        let last = page.calls.last().cloned();
        for call in page.calls {
            if seen.insert(call.call_id) {
                records.push(call);
                new += 1;
            }
        }
        if !page.more_data {
            break;
        }
        let Some(last) = last.filter(|_| new > 0) else {
            return Err(ApiError::Protocol {
                command: Command::CallOverview,
                detail: "more data announced but nothing new sent: stopping rather than looping"
                    .into(),
            }
            .into());
        };
        query.date = Some(last.start);
        query.call_id = Some(last.call_id);
    }
    records.sort_by_key(|c| (c.start, c.call_id));
    Ok(records)
}

/// One page of up to `count` records, newest first, before the record (`date`, `call_id`) of
/// an earlier page (`None`: from now); that record is not on it again.
pub fn page_before<E>(
    before: Option<(NaiveDateTime, u64)>,
    count: u32,
    now: NaiveDateTime,
    read: impl FnOnce(&CallQuery) -> Result<CallPage, E>,
) -> Result<CallPage, E> {
    let query = CallQuery {
        date: Some(before.map_or(now + chrono::Duration::days(1), |b| b.0)),
        call_id: before.map(|b| b.1),
        record_count: Some(count),
        direction: Some(Direction::Backward),
    };
    let mut page = read(&query)?;
    if let Some((_, id)) = before {
        page.calls.retain(|c| c.call_id != id);
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: u64, second: u32) -> CallRecord {
        CallRecord {
            call_type: "PSTNOutSip".into(),
            customer: "this account".into(),
            start: chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_opt(10, 0, second)
                .unwrap(),
            destination: "+3212345678".into(),
            duration_secs: 60,
            charge: "0.0688".parse().unwrap(),
            call_id: id,
        }
    }

    #[test]
    fn pages_until_no_more_data_and_lists_a_repeated_record_once() {
        let pages = [
            vec![call(1, 0), call(2, 0)],
            vec![call(2, 0), call(3, 1)],
            vec![call(4, 2)],
        ];
        let mut n = 0;
        let all = all_calls::<ApiError>(Some(NaiveDateTime::default()), |q| {
            if n > 0 {
                assert_eq!(q.call_id, Some(pages[n - 1].last().unwrap().call_id));
            }
            n += 1;
            Ok(CallPage {
                calls: pages[n - 1].clone(),
                more_data: n < pages.len(),
                count: None,
            })
        })
        .unwrap();
        let ids: Vec<u64> = all.iter().map(|c| c.call_id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4]);
        assert_eq!(all[0].charge.to_string(), "0.0688", "charges kept exact");
    }

    #[test]
    fn a_platform_repeating_its_page_is_a_protocol_error_not_a_silent_stop() {
        let mut asked = 0;
        let result = all_calls::<ApiError>(None, |_| {
            asked += 1;
            Ok(CallPage {
                calls: vec![call(1, 0)],
                more_data: true,
                count: None,
            })
        });
        assert!(
            matches!(result, Err(ApiError::Protocol { .. })),
            "{result:?}"
        );
        assert_eq!(asked, 2);
    }
}
