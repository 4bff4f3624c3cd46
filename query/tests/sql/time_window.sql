-- A 5-minute window starting at 08:00:00.2 UTC: what happened, per kind.
SELECT event_kind, count(*) AS n, min(time) AS first, max(time) AS last
FROM events
WHERE time >= TIMESTAMP '2026-11-20T08:00:00.2Z'
  AND time < TIMESTAMP '2026-11-20T08:00:00.2Z' + INTERVAL '5 minutes'
GROUP BY event_kind
ORDER BY event_kind;
