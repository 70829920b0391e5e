// The original halo README's example view: clients may change only
// `someProperty`.
import { View } from 'halo-sdk';

export default new View('MyModels')
  .defaults({ someProperty: 'a default value' })
  .routes(['create', 'read', 'update', 'list'])
  // Clients may change only `someProperty`.
  .on('update', (req) => {
    const model = req.collection().update(req.id(), req.data, ['someProperty']);
    return req.render(model);
  });
