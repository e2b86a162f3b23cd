"""vendorlake as Airflow DAGs (Airflow 2.10): a PythonOperator runs the command
(a BashOperator cannot make one exit code final and another retried).

The command's exit code decides the task's fate (see the README's exit-code
table): 0 succeeds; 4 (another run holds the lock), 5 (committed, units held
back) and 7 (--wait-for-success expired) are retried; 3 (reject gate or
extract guard) and 6 (nothing matched the layout) fail at once, since a
retry would fail the same way; anything else (1, 2, 130, 143) follows the
task's retries.
"""

import datetime
import subprocess

# Exit codes: what a task does with each (checked by test_vendorlake_dag.py).
SUCCESS, RETRY, FAIL = "success", "retry", "fail"
EXIT_CODES = {0: SUCCESS, 3: FAIL, 4: RETRY, 5: RETRY, 6: FAIL, 7: RETRY}


def outcome(code):
    """The fate of a run that exited with code: success, retry or fail."""
    return EXIT_CODES.get(code, RETRY)


def run_vendorlake(args, run_id):
    """Runs vendorlake with args; raises as outcome() says."""
    from airflow.exceptions import AirflowException, AirflowFailException

    code = subprocess.call(["vendorlake", *args, "--summary=json", "--run-id=" + run_id])
    fate = outcome(code)
    if fate == FAIL:
        raise AirflowFailException(f"vendorlake {args[0]} exited {code}: not retried")
    if fate == RETRY:
        raise AirflowException(f"vendorlake {args[0]} exited {code}: retried")


# The DAG's commands (also checked as vendorlake invocations by the Go test).
COMMANDS = {
    "didomi": ["didomi", "--input=s3://acme-drops/didomi", "--output=s3://acme-lake/vendors"],
    "id5": ["id5", "--input=s3://acme-drops/id5", "--partner=1234", "--source-gvlid=908", "--output=s3://acme-lake/vendors"],
}

try:
    from airflow import DAG
    from airflow.operators.python import PythonOperator
except ImportError:  # the mapping is tested without Airflow
    DAG = None

if DAG is not None:
    for name, schedule in (("didomi", "15 3 * * *"), ("id5", "*/5 * * * *")):
        with DAG(
            dag_id="vendorlake_" + name,
            schedule=schedule,
            start_date=datetime.datetime(2026, 1, 1),
            catchup=False,
            max_active_runs=1,
            default_args={"retries": 3, "retry_delay": datetime.timedelta(minutes=2)},
        ) as dag:
            PythonOperator(
                task_id=name,
                python_callable=run_vendorlake,
                op_kwargs={"args": COMMANDS[name], "run_id": "{{ run_id }}"},
            )
        globals()["dag_" + name] = dag
