"""What crosses process boundaries besides the generated messages: float32 matrices as bytes,
candidate lists and the structured reasons a failure carries."""
