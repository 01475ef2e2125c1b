"""`lakebox docs`' work: the data-docs site's model (:mod:`.model`), gathered from the lake (:mod:`.sources`,
:mod:`.site`) and written as static HTML (:mod:`.html`) with inline SVG charts (:mod:`.svg`)."""
