// The todos demo: a TodoMVC-style Backbone app on halo.sync.js and the
// `Todos` view. Every change is saved through the socket and pushed to every
// other open window.
(function () {
  'use strict';

  Backbone.socket = io();
  showConnection(Backbone.socket);

  const Todo = Backbone.Model.extend({
    urlRoot: 'Todos',
    defaults: { title: '', completed: false },
  });

  const Todos = Backbone.Collection.extend({
    model: Todo,
    url: 'Todos',
    completed() {
      return this.where({ completed: true });
    },
    remaining() {
      return this.where({ completed: false });
    },
  });

  const ENTER = 13;
  const ESCAPE = 27;

  const TodoView = Backbone.View.extend({
    tagName: 'li',
    events: {
      'change .toggle': 'toggle',
      'dblclick label': 'edit',
      'click .destroy': 'clear',
      'keydown .edit': 'key',
      'blur .edit': 'close',
    },
    initialize() {
      this.listenTo(this.model, 'change', this.render);
      this.listenTo(this.model, 'remove destroy', this.remove);
    },
    render() {
      if (this.$el.hasClass('editing')) return this;
      this.$el
        .toggleClass('completed', this.model.get('completed'))
        .attr('data-id', this.model.id || '')
        .html(
          '<div class="view"><input class="toggle" type="checkbox"><label></label>' +
            '<button class="destroy" title="Delete">×</button></div><input class="edit">'
        );
      this.$('.toggle').prop('checked', this.model.get('completed'));
      this.$('label').text(this.model.get('title'));
      return this;
    },
    toggle() {
      this.model.save({ completed: !this.model.get('completed') }, { patch: true });
    },
    edit() {
      this.$el.addClass('editing');
      this.$('.edit').val(this.model.get('title')).trigger('focus');
    },
    key(event) {
      if (event.which === ENTER) this.close();
      if (event.which === ESCAPE) {
        this.$el.removeClass('editing');
        this.render();
      }
    },
    close() {
      if (!this.$el.hasClass('editing')) return;
      const title = this.$('.edit').val().trim();
      this.$el.removeClass('editing');
      if (!title) this.clear();
      else if (title !== this.model.get('title')) this.model.save({ title }, { patch: true });
      else this.render();
    },
    clear() {
      this.model.destroy();
    },
  });

  const todos = new Todos();

  const AppView = Backbone.View.extend({
    el: '.todoapp',
    events: {
      'keydown .new-todo': 'create',
      'click .clear-completed': 'clearCompleted',
      'change .toggle-all input': 'toggleAll',
    },
    initialize() {
      this.listenTo(todos, 'add', this.addOne);
      this.listenTo(todos, 'reset', this.addAll);
      this.listenTo(todos, 'add remove change reset sync', _.debounce(this.renderStats, 0));
      todos.fetch();
    },
    addOne(todo) {
      this.$('.todo-list').append(new TodoView({ model: todo }).render().el);
    },
    addAll() {
      this.$('.todo-list').empty();
      todos.each(this.addOne, this);
    },
    renderStats() {
      const left = todos.remaining().length;
      this.$('.todo-count').text(left + (left === 1 ? ' item left' : ' items left'));
      this.$('.clear-completed').toggle(todos.completed().length > 0);
      this.$('.main, .footer').toggle(todos.length > 0);
      this.$('.toggle-all input').prop('checked', todos.length > 0 && left === 0);
    },
    create(event) {
      const input = this.$('.new-todo');
      const title = input.val().trim();
      if (event.which !== ENTER || !title) return;
      todos.create({ title });
      input.val('');
    },
    clearCompleted() {
      _.invoke(todos.completed(), 'destroy');
    },
    toggleAll(event) {
      const completed = event.target.checked;
      todos.each((todo) => todo.get('completed') !== completed && todo.save({ completed }, { patch: true }));
    },
  });

  function showConnection(socket) {
    const status = $('.status');
    socket.on('connect', () => status.text('connected').attr('data-state', 'online'));
    socket.on('disconnect', () =>
      status.text('offline: your changes wait and are sent when the server is back').attr('data-state', 'offline')
    );
  }

  new AppView();
})();
