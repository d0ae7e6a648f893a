"""Data sets as plug-ins: one module per data set (``paired``, ``us2``, ``xenonnt``), listed in ``registry``."""
