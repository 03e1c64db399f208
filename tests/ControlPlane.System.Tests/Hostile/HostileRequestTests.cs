using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Hostile;

/// <summary>
/// Requests meant to hurt: they get a clear refusal (never a 5xx, never a file), and the node goes on
/// serving everyone else meanwhile and afterwards.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class HostileRequestTests(Platform platform)
{
    private const string Image = "img.hostile";

    [Theory]
    [InlineData("GET /g/img.hostile/../../../../etc/passwd HTTP/1.1")]
    [InlineData("GET /g/img.hostile/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1")]
    [InlineData("GET /g/img.hostile/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1")]
    [InlineData("GET /g/..%2f..%2fetc/passwd HTTP/1.1")]
    [InlineData("GET /g/img.hostile/x/../../../etc/passwd?a=../../etc/shadow HTTP/1.1")]
    [InlineData("GET /../../etc/passwd HTTP/1.1")]
    public Task PathTraversal_NeverReachesAFile_NorAnotherImage(string requestLine) => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var _ = await RegisterAsync();

        var answer = await RawHttp.ExchangeAsync(platform.Node1.Port, requestLine);

        Assert.InRange(answer.Status, 200, 499); // answered, never a server error
        Assert.DoesNotContain("root:", answer.Text, StringComparison.Ordinal);
        if (answer.Status == 200)
        {
            // Forwarded: only ever to an instance of the image, with the escaped path kept whole.
            Assert.Contains("\"instance\":\"b", answer.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("\"path\":\"/etc/", answer.Text, StringComparison.Ordinal);
        }
        await AssertStillServingAsync();
    });

    [Fact]
    public Task HugeHeaders_AreRefusedWith431_AndTheNodeGoesOn() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var _ = await RegisterAsync();

        var oneHuge = await RawHttp.ExchangeAsync(platform.Node1.Port, "GET /g/img.hostile/x HTTP/1.1", "X-Huge: " + new string('a', 64 * 1024));
        var tooMany = await RawHttp.ExchangeAsync(platform.Node1.Port, "GET /g/img.hostile/x HTTP/1.1", [.. Enumerable.Range(0, 200).Select(i => $"X-H{i}: {i}")]);

        Assert.Equal(431, oneHuge.Status);
        Assert.Equal(431, tooMany.Status);
        await AssertStillServingAsync();
    });

    [Fact]
    public Task SlowBodies_AreCutOff_WhileEveryoneElseIsServed() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var _ = await RegisterAsync();
        const int Attackers = 20;
        var slow = new List<RawHttp>();
        using var trickle = new CancellationTokenSource();
        try
        {
            for (var i = 0; i < Attackers; i++)
            {
                var connection = await RawHttp.ConnectAsync(platform.Node1.Port);
                slow.Add(connection);
                await connection.WriteAsync("POST /g/img.hostile/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\nx");
            }
            // One byte per second each: far below Kestrel's minimum body data rate (240 B/s after a 5 s grace).
            var trickling = Task.WhenAll(slow.Select(c => TrickleAsync(c, trickle.Token)));

            // Everyone else is served meanwhile.
            for (var i = 0; i < 50; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await platform.Node1.GetAsync(Image)).Status);
            }

            // Each slow request is cut off by the node (the instance would wait for the whole body): 408,
            // or the connection closed under it; never held open.
            var ends = await Task.WhenAll(slow.Select(c => c.ReadToEndAsync()));
            Assert.All(ends, end => Assert.True(end.Status is 0 or 408, end.Text));
            await trickle.CancelAsync();
            await trickling;
        }
        finally
        {
            await trickle.CancelAsync();
            foreach (var connection in slow)
            {
                await connection.DisposeAsync();
            }
        }
        await AssertStillServingAsync();
    });

    private static async Task TrickleAsync(RawHttp connection, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await connection.WriteAsync("x");
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // stopped, or the node closed the connection: both end the trickle
        }
    }

    /// <summary>The image the hostile requests aim at.</summary>
    private Task<Registration> RegisterAsync() => platform.RegisterAsync(Image, "host");

    private async Task AssertStillServingAsync()
    {
        foreach (var node in platform.Nodes)
        {
            var answer = await node.GetAsync(Image, "/after");
            Assert.Equal(HttpStatusCode.OK, answer.Status);
        }
    }
}
