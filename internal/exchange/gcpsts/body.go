package gcpsts

import (
	"fmt"
	"io"
	"net/http"
)

// do sends req and returns the status and the body, capped at MaxResponseBytes.
func (c *Client) do(req *http.Request) (int, []byte, error) {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	limit := c.maxBytes()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("could not read the response: %w", err)
	}
	if int64(len(body)) > limit {
		return resp.StatusCode, nil, fmt.Errorf("the response body exceeds %d bytes", limit)
	}
	return resp.StatusCode, body, nil
}
