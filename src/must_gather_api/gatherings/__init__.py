"""Gatherings: the record, where it is kept, and the runner that carries it out.

``records`` is the domain object, ``store`` keeps records in SQL, ``outputs`` keeps each
gathering's growing output in a file, ``layout`` says where a gathering's files live,
``runner`` queues and executes gatherings through an executor, ``cleanup`` removes
what is too old or too big.
"""
