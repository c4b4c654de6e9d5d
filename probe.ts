import { PGlite } from '@electric-sql/pglite'
let t = Date.now()
const db = await PGlite.create()
console.log('create', Date.now() - t)
await db.exec(`CREATE ROLE app NOLOGIN; CREATE TABLE t (tenant_id text, v int); ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON t TO app USING (tenant_id = current_setting('vault.tenant_id', true)) WITH CHECK (tenant_id = current_setting('vault.tenant_id', true));
GRANT SELECT, INSERT ON t TO app; INSERT INTO t VALUES ('a',1),('b',2);`)
await db.exec('BEGIN')
console.log((await db.query(`select set_config('role','app',true), set_config('vault.tenant_id',$1,true), current_user`, ['a'])).rows)
console.log((await db.query(`select * from t`)).rows)
try { await db.query(`insert into t values ('b', 3)`) } catch (e) { console.log('refused', (e as Error).message) }
await db.exec('ROLLBACK')
console.log((await db.query(`select current_user`)).rows)
t = Date.now()
const dump = await db.dumpDataDir('none')
console.log('dump', Date.now() - t, dump.size)
t = Date.now()
const db2 = await PGlite.create({ loadDataDir: dump })
console.log('load', Date.now() - t, (await db2.query('select count(*) from t')).rows)
