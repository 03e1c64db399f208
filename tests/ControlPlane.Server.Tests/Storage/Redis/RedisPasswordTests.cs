using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>A Redis with requirepass: the password comes from REDIS_PASSWORD or the file REDIS_PASSWORD_FILE names.</summary>
public sealed class RedisPasswordTests : IAsyncLifetime
{
    private const string Password = "pa ss'word\"with{odd}chars";
    private RedisServer? _server;

    public async ValueTask InitializeAsync()
    {
        if (RedisServer.Installed)
        {
            _server = await RedisServer.StartAsync("--requirepass", Password);
        }
    }

    private RedisConnection Connect(Func<string, string?> environment)
    {
        RedisServer.Require();
        return RedisConnection.Connect(new RedisStoreOptions { Url = _server!.Url, ConnectTimeout = TimeSpan.FromSeconds(1) }, NullLogger.Instance, environment);
    }

    [Fact]
    public async Task ThePasswordFromTheVariable_Authenticates()
    {
        using var connection = Connect(v => v == RedisStoreOptions.PasswordVariable ? Password : null);
        await new RedisRegistryStore(connection).PingAsync().DefaultTimeout();
    }

    [Fact]
    public async Task ThePasswordFromTheFile_Authenticates_AndWinsOverTheVariable()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, Password + "\n").DefaultTimeout();
            using var connection = Connect(v => v switch
            {
                RedisStoreOptions.PasswordFileVariable => file,
                RedisStoreOptions.PasswordVariable => "wrong",
                _ => null,
            });
            await new RedisRegistryStore(connection).PingAsync().DefaultTimeout();
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    public async Task WithoutTheRightPassword_TheStoreIsUnavailable(string? password)
    {
        using var connection = Connect(v => v == RedisStoreOptions.PasswordVariable ? password : null);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => new RedisRegistryStore(connection).PingAsync().AsTask()).DefaultTimeout();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
