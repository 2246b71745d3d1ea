"""A/B reports over training work dirs: read mmengine's scalars (:mod:`.logs`), summarise and tabulate
(:mod:`.tables`), plot (:mod:`.plots`).

    runs = [load_run("work_dirs/ce_r18_8e_demo"), load_run("work_dirs/nst_r34_r18_8e_demo")]
    rows = summarize(runs, metric="accuracy/top1")
    print(format_table(rows, "accuracy/top1", markdown=True))
    plot_runs(runs, "accuracy/top1", "curves.png")
"""
from .logs import (
                   SCALARS_GLOB,
                   Run,
                   Segment,
                   chain_segments,
                   find_scalars,
                   find_sidecar,
                   is_train_record,
                   load_run,
                   read_scalars,
                   read_setup,
)
from .plots import plot_runs
from .tables import (
                   DASH,
                   INFERRED_MARK,
                   Summary,
                   format_table,
                   mean_std,
                   method_of,
                   seed_table,
                   select_step,
                   summarize,
                   table_columns,
                   taps_of,
)

__all__ = ["SCALARS_GLOB", "Run", "Segment", "chain_segments", "find_scalars", "find_sidecar", "is_train_record",
           "load_run", "read_scalars", "read_setup", "plot_runs", "DASH", "INFERRED_MARK",
           "Summary", "format_table", "mean_std", "method_of", "taps_of", "seed_table", "select_step", "summarize",
           "table_columns"]
