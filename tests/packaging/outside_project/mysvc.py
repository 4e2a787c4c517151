import nats

from nats_fault_harness.scenario import FlushOutcome, PoolInit


class MyService:
    name = "mysvc"

    async def start(self, env, report):
        self.nc = await nats.connect(
            list(env.servers), name=self.name, reconnect_time_wait=0.05, max_reconnect_attempts=-1
        )
        self.batch = []
        return PoolInit(size=1, connected=("0",), failed={}, enabled=False, fallback=False)

    async def publish(self, subject, data, msg_id):  # return once the server has it
        await self.nc.publish(subject, data, headers={"Nats-Msg-Id": msg_id})
        await self.nc.flush(timeout=5)

    async def publish_batched(self, subject, data, msg_id):
        self.batch.append((subject, data, msg_id))

    async def flush(self):
        for subject, data, msg_id in self.batch:
            await self.nc.publish(subject, data, headers={"Nats-Msg-Id": msg_id})
        await self.nc.flush(timeout=5)
        done, self.batch = tuple(m for _, _, m in self.batch), []
        return FlushOutcome(confirmed=done)

    async def recover(self):
        return ()

    async def request(self, subject, data, timeout):
        return (await self.nc.request(subject, data, timeout=timeout)).data

    async def subscribe(self, subject, queue):
        return await self.nc.subscribe(subject, queue=queue or "")

    async def unsubscribe(self, handle):
        await handle.unsubscribe()

    async def stop(self):
        await self.nc.close()


def make():
    return MyService()
