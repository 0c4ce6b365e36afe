import { expect } from 'chai';
import { escapeHtml, html } from '../../../lib/web/html.ts';

describe('web/html', () => {
  it('escapes every interpolated string: a message-derived value can only be text', () => {
    const argument = '<img src=x onerror=alert(1)>';
    const attack = `"><script>alert('x')</script>`;
    const page = html`<td title="${attack}">${argument}</td>`.text;
    expect(page).to.equal('<td title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;">&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(page).to.not.contain('<img').and.not.contain('<script');
  });

  it('keeps nested fragments as markup, joins lists, leaves out null, undefined and false', () => {
    const rows = ['a<b', 'c&d'].map((cell) => html`<li>${cell}</li>`);
    expect(html`<ul>${rows}</ul>${null}${undefined}${false}${0}`.text).to.equal('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>0');
  });

  it('escapeHtml replaces & < > " \'', () => {
    expect(escapeHtml(`&<>"'`)).to.equal('&amp;&lt;&gt;&quot;&#39;');
  });
});
