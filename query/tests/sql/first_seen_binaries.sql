-- When each binary was first executed, and by whom.
SELECT exe, min(time) AS first_exec, count(*) AS execs,
       first_value(user_name ORDER BY time) AS first_user
FROM execs
GROUP BY exe
ORDER BY first_exec, exe;
