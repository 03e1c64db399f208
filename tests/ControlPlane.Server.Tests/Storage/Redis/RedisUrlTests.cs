using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

public sealed class RedisUrlTests
{
    [Theory]
    [InlineData("redis://localhost", "localhost", 6379, 0, false)]
    [InlineData("redis://10.0.0.7:6380/3", "10.0.0.7", 6380, 3, false)]
    [InlineData("rediss://cache.example:6390/1", "cache.example", 6390, 1, true)]
    [InlineData("redis://default@redis:6379/0", "redis", 6379, 0, false)]
    [InlineData("redis://default:@redis/", "redis", 6379, 0, false)]
    [InlineData("REDIS://[::1]:7000/2", "::1", 7000, 2, false)]
    public void Parse_ReadsHostPortDatabaseAndTls(string url, string host, int port, int database, bool tls)
    {
        Assert.Equal(new RedisUrl(host, port, database, tls), RedisUrl.Parse(url));
    }

    [Theory]
    [InlineData("redis://:s3cret@redis:6379/0")]
    [InlineData("redis://default:s3cret@redis:6379/0")]
    [InlineData("rediss://user:s3cret@redis")]
    public void Parse_RefusesAPasswordInTheUrl_WithoutRepeatingIt(string url)
    {
        var error = Assert.Throws<FormatException>(() => RedisUrl.Parse(url));
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
        Assert.Contains("REDIS_PASSWORD", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://redis:6379")]
    [InlineData("redis:6379")]
    [InlineData("redis://redis:6379/db1")]
    [InlineData("redis://redis:6379/0?ssl=true")]
    [InlineData("redis://alice@redis:6379/0")]
    [InlineData("")]
    public void Parse_RefusesWhatItCannotHonour(string url)
    {
        Assert.Throws<FormatException>(() => RedisUrl.Parse(url));
    }

    [Fact]
    public void ToString_IsTheUrlWithoutUser()
    {
        Assert.Equal("rediss://[::1]:7000/2", RedisUrl.Parse("rediss://default@[::1]:7000/2").ToString());
    }
}
