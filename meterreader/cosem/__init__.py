"""COSEM object model: OBIS codes and interface-class attribute/method tables (Blue Book)."""
