"""Toy studies that outgrow one machine: coverage, Feldman-Cousins belts and SBC, on dask.distributed.

engine (run_study, Study) runs keyed, resumable tasks; models holds the one-parameter model
interface; coverage, feldman_cousins and sbc build studies and reduce their results; paper is the
hook to the physics. Nothing is imported here: a worker unpickling a task imports only the modules
that task needs, and must not load PyTensor before its compile directory is set (worker.py).
"""
