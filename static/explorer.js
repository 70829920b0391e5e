// The explorer on halo's front page: every view of the default tenant as a
// live Backbone collection, to try a view in a browser while writing it.
// What other clients save shows up at once; what the view refuses shows its
// error.
(function () {
  'use strict';

  Backbone.socket = io();
  const status = document.getElementById('status');
  Backbone.socket.on('connect', () => (status.textContent = 'connected'));
  Backbone.socket.on('disconnect', () => (status.textContent = 'offline: reconnecting…'));

  function message(xhr) {
    const err = xhr && (xhr.responseJSON || xhr);
    return err && err.code ? `${err.code}: ${err.message}` : String(err);
  }

  function explore(section) {
    const name = section.dataset.view;
    const routes = section.dataset.routes.split(',');
    const items = new (Backbone.Collection.extend({ url: name }))();
    const rows = section.querySelector('tbody');
    const error = section.querySelector('.error');
    const show = (text) => (error.textContent = text || '');

    function codeCell(text) {
      const cell = document.createElement('td');
      const code = document.createElement('code');
      code.textContent = text;
      cell.append(code);
      return cell;
    }

    function render() {
      rows.textContent = '';
      items.each((model) => {
        const row = document.createElement('tr');
        row.dataset.id = model.id;
        row.append(codeCell(model.id), codeCell(JSON.stringify(_.omit(model.attributes, 'id'))));
        if (routes.includes('delete')) {
          const cell = document.createElement('td');
          const remove = document.createElement('button');
          remove.textContent = 'delete';
          remove.onclick = () => model.destroy({ wait: true, error: (m, xhr) => show(message(xhr)) });
          cell.append(remove);
          row.append(cell);
        }
        rows.append(row);
      });
    }

    // `update` comes once per batch of adds and removes (a fetch, a push),
    // not once per model.
    items.on('update reset change', render);
    if (routes.includes('list')) items.fetch({ error: (c, xhr) => show(message(xhr)) });
    const form = section.querySelector('form');
    if (!routes.includes('create')) {
      form.hidden = true;
      return;
    }
    form.onsubmit = (event) => {
      event.preventDefault();
      let attributes;
      try {
        attributes = JSON.parse(form.json.value || '{}');
      } catch (err) {
        show(`not JSON: ${err.message}`);
        return;
      }
      show('');
      items.create(attributes, {
        wait: true,
        success: () => (form.json.value = ''),
        error: (m, xhr) => show(message(xhr)),
      });
    };
  }

  document.querySelectorAll('section[data-view]').forEach(explore);
})();
