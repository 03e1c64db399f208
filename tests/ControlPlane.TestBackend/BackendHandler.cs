using System.Text.Json;

namespace ControlPlane.TestBackend;

/// <summary>
/// Every request is answered with the instance's id (header <c>X-Instance-Id</c>, and a JSON body
/// <c>{"instance","method","path","query","request_id"}</c>), after the delay the test set. Paths:
/// <list type="bullet">
/// <item><c>/readyz</c>: "ok" (the fixture waits on it).</item>
/// <item><c>PUT /_backend/delay?ms=n</c>: every later request waits n ms first (0: none); called directly, not through a node.</item>
/// <item><c>/echo</c>: the request body, streamed back.</item>
/// <item><c>/upload</c>: reads the whole body, then answers <c>{"bytes": n}</c>.</item>
/// <item><c>/status/{code}</c>: that status, with the JSON body.</item>
/// </list>
/// </summary>
internal static class BackendHandler
{
    public static async Task HandleAsync(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<BackendOptions>();
        var state = http.RequestServices.GetRequiredService<BackendState>();
        var path = http.Request.Path.Value ?? "/";
        http.Response.Headers["X-Instance-Id"] = options.InstanceId;
        if (path == "/readyz")
        {
            await http.Response.WriteAsync("ok");
            return;
        }
        if (path == "/_backend/delay" && HttpMethods.IsPut(http.Request.Method))
        {
            state.Delay = TimeSpan.FromMilliseconds(int.Parse(http.Request.Query["ms"].ToString(), System.Globalization.CultureInfo.InvariantCulture));
            return;
        }
        if (state.Delay > TimeSpan.Zero)
        {
            await Task.Delay(state.Delay, http.RequestAborted);
        }
        if (path == "/echo")
        {
            http.Response.ContentType = http.Request.ContentType ?? "application/octet-stream";
            await http.Request.Body.CopyToAsync(http.Response.Body, http.RequestAborted);
            return;
        }
        if (path == "/upload")
        {
            var buffer = new byte[16 * 1024];
            long bytes = 0;
            int read;
            while ((read = await http.Request.Body.ReadAsync(buffer, http.RequestAborted)) > 0)
            {
                bytes += read;
            }
            await http.Response.WriteAsJsonAsync(new { bytes }, http.RequestAborted);
            return;
        }
        if (path.StartsWith("/status/", StringComparison.Ordinal) && int.TryParse(path["/status/".Length..], out var status) && status is >= 200 and < 600)
        {
            http.Response.StatusCode = status;
        }
        http.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(http.Response.Body, new Dictionary<string, string>
        {
            ["instance"] = options.InstanceId,
            ["method"] = http.Request.Method,
            ["path"] = http.Request.Path.ToUriComponent(),
            ["query"] = http.Request.QueryString.Value ?? "",
            ["request_id"] = http.Request.Headers["X-Request-ID"].ToString(),
        }, cancellationToken: http.RequestAborted);
    }
}
