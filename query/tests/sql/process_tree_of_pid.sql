-- The ancestry of every process that ran sudo, and the subtree of the first sshd session shell.
SELECT t.pid, t.exe, t.depth, t.ancestor_pid, t.ancestor_exe
FROM process_tree t
WHERE t.pid = (SELECT min(pid) FROM processes WHERE exe = '/usr/bin/sudo')
ORDER BY t.depth;

SELECT d.depth, d.pid, d.parent_pid, d.exe
FROM descendants(581) d
ORDER BY d.depth, d.pid
LIMIT 15;

SELECT depth, pid, exe FROM ancestors(1256) ORDER BY depth;
