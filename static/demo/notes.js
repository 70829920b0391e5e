// The notes demo: per-user visibility decided by the `Notes` view. Signing
// in gets a token for the user from the host (`halo serve --demo-tenant`)
// and connects to that tenant with it; the view renders each note only for
// its owner and the users it is shared with.
(function () {
  'use strict';

  const USERS = ['alice', 'bob'];

  const Note = Backbone.Model.extend({ urlRoot: 'Notes', defaults: { text: '', sharedWith: [] } });
  const Notes = Backbone.Collection.extend({ model: Note, url: 'Notes' });

  const NoteView = Backbone.View.extend({
    tagName: 'li',
    events: { 'click .destroy': 'clear' },
    initialize(options) {
      this.me = options.me;
      this.listenTo(this.model, 'change', this.render);
      this.listenTo(this.model, 'remove destroy', this.remove);
    },
    render() {
      const shared = this.model.get('sharedWith') || [];
      this.$el.attr('data-id', this.model.id || '').html(
        '<span class="text"></span> <small class="meta"></small>' +
          (this.model.get('owner') === this.me ? ' <button class="destroy" title="Delete">×</button>' : '')
      );
      this.$('.text').text(this.model.get('text'));
      this.$('.meta').text(
        'by ' + (this.model.get('owner') || this.me) + (shared.length ? ', shared with ' + shared.join(', ') : ', private')
      );
      return this;
    },
    clear() {
      this.model.destroy();
    },
  });

  async function connectAs(me) {
    const answer = await fetch('/demo/token/' + encodeURIComponent(me));
    if (answer.ok) {
      const { namespace, token } = await answer.json();
      return { socket: io(namespace, { auth: { token } }), how: 'signed token' };
    }
    // No demo tenant on this host: the default tenant takes the claim as
    // it comes, unverified.
    return { socket: io({ auth: { user: me } }), how: 'unverified claim' };
  }

  async function signIn(me) {
    const other = USERS.find((user) => user !== me);
    const { socket, how } = await connectAs(me);
    Backbone.socket = socket;
    const status = $('.status');
    socket.on('connect', () => status.text('connected as ' + me + ' (' + how + ')').attr('data-state', 'online'));
    socket.on('disconnect', () => status.text('offline').attr('data-state', 'offline'));

    $('.signin').prop('hidden', true);
    $('.signed-in').prop('hidden', false);
    $('.me').text(me);
    $('.other').text(other);

    const notes = new Notes();
    const list = $('.note-list');
    notes.on('add', (note) => list.append(new NoteView({ model: note, me }).render().el));
    notes.fetch();

    $('.new-note').on('submit', (event) => {
      event.preventDefault();
      const text = $('.new-note .text').val().trim();
      if (!text) return;
      const sharedWith = $('.new-note .share').prop('checked') ? [other] : [];
      notes.create({ text, sharedWith, owner: me });
      $('.new-note .text').val('');
    });
  }

  $('.signin button').on('click', (event) => signIn($(event.currentTarget).data('user')));
})();
