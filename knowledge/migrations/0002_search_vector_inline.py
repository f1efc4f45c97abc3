"""Keep the search vector in the article's own row (compressed) instead of the TOAST table.

Search reads one tenant's articles by index and tests each one's vector (row-level security
keeps the GIN index out of the plan): with the default EXTENDED storage every test was a TOAST
fetch, two extra buffer reads per article. MAIN keeps the vector in the row, compressed, and
lets the long texts (body, body_html, body_text, search_body) move out first
(bench/README.md "kb_search").
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE knowledge_article ALTER COLUMN search_vector SET STORAGE MAIN",
            "ALTER TABLE knowledge_article ALTER COLUMN search_vector SET STORAGE EXTENDED",
        )
    ]
