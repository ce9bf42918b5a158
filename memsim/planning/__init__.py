"""Hardware-aware quantization planning (Diware, Yaldagard and Bishnoi, ICCAD 2024; ``docs/planning.md``):
``plan`` (the plan file: weight bits, shift, discarded partial sums, compensation), ``error_model`` (the
analytic error of every partial sum), ``planner`` (the search and the comparison with the conventional plan)
and ``plots`` (the planner's figures)."""
