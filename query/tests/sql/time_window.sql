-- A 5-minute window: what happened between 08:01 and 08:06 UTC, per minute and kind.
SELECT date_trunc('minute', time) AS minute, event_kind, count(*) AS n
FROM events
WHERE time >= TIMESTAMP '2026-11-20T08:01:00Z' AND time < TIMESTAMP '2026-11-20T08:06:00Z'
GROUP BY minute, event_kind
ORDER BY minute, event_kind;
