"""One module per command group; each ``cmd_*`` takes the parsed arguments,
calls the public API and prints (stdout: tables; stderr: progress, warnings).

- :mod:`.gap`: ``gap``, ``distance``, ``demo``
- :mod:`.flow`: ``flow``
- :mod:`.converge`: ``converge``
- :mod:`.conditions`: ``conditions``
- :mod:`.curvature`: ``curvature``; :mod:`.smallstep`: ``smallstep``
- :mod:`.derive`: ``derive``, ``proofs``
- :mod:`.check`: ``check``, ``schema``

``experiment`` and ``sweep`` live in :mod:`certify.experiments.commands`.
"""
