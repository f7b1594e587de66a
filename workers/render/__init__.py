"""What steps show the outside world: the normalised message JSON and the Jinja2 templates
rendered over it (``slack``, ``forward_http``, ``template``, ``tag``, ``drop``, ``python``)."""
