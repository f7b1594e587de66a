"""The shapes mail is normalised into (``InboundEmail``, ``BounceReport``) and the rules over them."""
