using ControlPlane.Server.Stats;
using ControlPlane.Server.Storage.Redis;
using ControlPlane.Server.Tests.Stats;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The exactly-once rules with the host on Redis (<c>ControlPlane:Store:Kind=redis</c>), a key prefix per host.</summary>
public sealed class RedisExactlyOnceTests(RedisFixture redis) : ExactlyOnceContract, IClassFixture<RedisFixture>
{
    private protected override async Task<StatsHost> StartHostAsync(params string[] args)
    {
        var host = await StatsHost.StartAsync(null,
        [
            "--ControlPlane:Store:Kind=redis", $"--ControlPlane:Store:Redis:Url={redis.Require().Url}", $"--ControlPlane:Store:Redis:KeyPrefix={redis.NewPrefix()}", .. args,
        ]);
        Assert.IsType<RedisLoadStore>(host.Services.GetRequiredService<ILoadStore>());
        return host;
    }
}
